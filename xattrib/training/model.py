"""``xattrib.Model``: a trained network with its normalisation, grid and provenance.

The container: building, predicting, wrapping users' networks, the exact F. Its file
format — plain arrays and JSON attributes, never a pickled module, read without running
code the file names — is :mod:`.model_file`; ``Model.save``/``load``/``to_dataset``/
``from_dataset`` call it.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ..baselines import parse_baseline
from ..generation import generator_from_dataset
from ..grid.cells import CellIndex
from . import model_file
from .factories import call_factory, factory_name, import_factory

if TYPE_CHECKING:
    import torch

__all__ = ["Model", "resolve_device"]


_PREDICT_BATCH = 8192
#: inputs whose mean is further than this many training standard deviations from the
#: training mean at some cell are warned about (a single standardised sample rarely passes
#: 5 at any of hundreds of cells; raw fields with the climatology left in reach 30-100)
OFF_DISTRIBUTION_STD = 8.0


def resolve_device(device: Any = None) -> torch.device:
    """``None`` → CUDA when available, else CPU; otherwise ``torch.device(device)``."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass(eq=False)
class Model:
    """A trained network on the valid cells of a grid.

    Attributes
    ----------
    module : torch.nn.Module
        The network in standardised units (what was trained).
    arch, arch_kwargs : the architecture and the keyword arguments that rebuild it.
    cells : CellIndex
        The grid and valid cells the network reads, in order.
    x_mean, x_std, y_mean, y_std : the normalisation learnt from the training data.
    r2 : float
        Best validation R² during training.
    linear_r2 : float
        Validation R² of a linear regression on the same data (how nonlinear y is).
    history : list of dict
        Per epoch: train_loss, val_loss, val_r2, lr, samples, train_seconds (training only)
        and seconds (with validation).
    variables : list of str
        The input variables, in channel order (one for networks xattrib trains).
    outputs : list of str
        Names of the network's outputs (one for networks xattrib trains).
    spec : ModuleSpec or None
        For a user's module (:meth:`from_module`): its layout, fill value and factory.
    """

    module: Any
    arch: str
    arch_kwargs: dict[str, Any]
    cells: CellIndex
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float
    y_std: float
    r2: float = float("nan")
    linear_r2: float = float("nan")
    history: list[dict[str, Any]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    variables: list[str] = field(default_factory=lambda: ["x"])
    outputs: list[str] = field(default_factory=lambda: ["y"])
    spec: Any = None
    #: units of each output (by name) where they are known: ``from_module(units=)``
    units: dict[str, str] = field(default_factory=dict)
    _network: Any = field(default=None, init=False, repr=False)

    @classmethod
    def build(cls, arch: Any, cells: CellIndex, arch_kwargs: dict[str, Any], x_mean: np.ndarray,
              x_std: np.ndarray, y_mean: float, y_std: float, n_variables: int = 1) -> Model:
        """A network from an architecture of xattrib's registry (``"mlp"``, ``"cnn"``), your
        own factory — a callable, or its ``"package.module:function"`` name written in your
        own code — called with ``arch_kwargs``, or a module instance; it reads the stacked
        valid cells ``(n, d)`` and returns ``(n, 1)``."""
        import torch

        from ..architectures import build_module

        norm = (np.asarray(x_mean, np.float32), np.asarray(x_std, np.float32), float(y_mean),
                float(y_std))
        if isinstance(arch, torch.nn.Module):  # trained in place; cannot be saved as text
            if arch_kwargs:
                raise ValueError(f"arch is a module instance: {sorted(arch_kwargs)} cannot "
                                 "configure it (pass a factory 'package.module:function')")
            return cls(arch, "module-instance", {}, cells, *norm)
        if isinstance(arch, str) and ":" in arch:  # named in the caller's code: theirs to run
            module, kwargs = call_factory(import_factory(arch), arch_kwargs, None,
                                           f"the factory {arch!r}")
            _probe(module, cells.n_cells * n_variables, f"{arch}(**{kwargs})")
            return cls(module, arch, kwargs, cells, *norm)
        if callable(arch) and not isinstance(arch, str):
            name = factory_name(arch)
            module, kwargs = call_factory(arch, arch_kwargs, None, f"the factory {name!r}")
            _probe(module, cells.n_cells * n_variables, f"{name}(**{kwargs})")
            return cls(module, name, kwargs, cells, *norm)
        module = build_module(arch, cells, n_variables, **arch_kwargs)
        return cls(module, arch, dict(arch_kwargs), cells, *norm)

    @classmethod
    def from_module(cls, module: Any, like: xr.Dataset | xr.DataArray, **kwargs: Any
                    ) -> Model:
        """Wrap any torch network so xattrib can explain it on a grid.

        Parameters
        ----------
        module : torch.nn.Module
            Your network. It reads, per ``layout``:

            - ``"cells"``: ``(n, C·d)``, the d valid cells of each of the C variables, in
              row-major (lat, lon) order, variables one after another;
            - ``"grid"``: ``(n, lat, lon)`` (one variable);
            - ``"grid_channels"``: ``(n, C, lat, lon)``, one channel per variable;

            and returns ``(n,)``, ``(n, 1)`` or ``(n, k)``.
        like : DataArray or Dataset
            Data on the grid (e.g. the training data): its valid cells (finite in every
            sample) are the cells the network reads. A Dataset's variables (or
            ``variables=``) become channels and must share one land mask.
        layout : {"cells", "grid", "grid_channels"}
        fill_value : float
            Value of invalid (land) cells in grid layouts, in the module's input units
            (after normalisation). Land never carries an attribution.
        x_mean, x_std : float, DataArray over (lat, lon), or dict per variable
            The module sees ``(x - x_mean) / x_std``; default none.
        y_mean, y_std : float or sequence (one per output)
            Raw output = module output · y_std + y_mean.
        outputs : list of str, optional
            Names of the outputs (default ``output0``, ``output1``...; ``y`` for one).
        units : str or dict, optional
            Units of the raw output (one string for every output, or ``{output: units}``),
            e.g. ``"K"`` for a temperature index: heatmaps, completeness errors and
            predictions explaining it carry them (default ``"1"``), and saved files keep
            them.
        factory, factory_kwargs : callable or str, dict
            Your function that rebuilds ``module`` (or its ``"package.module:function"``
            name) and its keyword arguments, plain data (needed by :meth:`save`; a saved
            model is the state dict plus the function's *name*, no pickle, and
            :meth:`load` calls it only when you pass or allow it).

        Examples
        --------
        >>> import torch, xattrib
        >>> sst = xattrib.datasets.pacific_sst()
        >>> net = torch.nn.Sequential(torch.nn.Linear(450, 2))
        >>> m = xattrib.Model.from_module(net, like=sst, outputs=["nino34", "pdo"])
        >>> m.predict(sst.to_dataset()).dims
        ('time', 'output')
        """
        from .wrapping import wrap_module

        return wrap_module(cls, module, like, **kwargs)

    def __repr__(self) -> str:
        ny, nx = self.cells.shape
        r2 = "" if np.isnan(self.r2) else f", r2={self.r2:.4f}"
        return (f"<xattrib.Model arch={self.arch!r}, variables={list(self.variables)}, "
                f"{self.cells.n_cells} valid cells of a {ny} × {nx} grid, "
                f"outputs={list(self.outputs)}{r2}>")

    def output_units(self, k: int) -> str | None:
        """Units of output ``k`` if recorded (heatmaps explaining it carry them)."""
        return self.units.get(str(self.outputs[k])) if self.units else None

    def output_index(self, output: int | str | None) -> int:
        """Index of an output given by position or name (None: the only output)."""
        if output is None:
            if len(self.outputs) > 1:
                raise ValueError(f"the model has outputs {self.outputs}; pass output= (a name "
                                 "or index) to pick one")
            return 0
        if isinstance(output, str):
            if output not in self.outputs:
                raise ValueError(f"unknown output {output!r}; outputs: {self.outputs}")
            return self.outputs.index(output)
        if not -len(self.outputs) <= int(output) < len(self.outputs):
            raise ValueError(f"output index {output} out of range for outputs {self.outputs}")
        return int(output) % len(self.outputs)

    @classmethod
    def exact(cls, bench: xr.Dataset) -> Model:
        """The benchmark's own response F as a model: explain the *true* function.

        ``y = scale · Σᵢ Fᵢ(xᵢ)`` from the benchmark's stored parameters, as a plain
        Linear–activation–Linear network (:class:`xattrib.architectures.ExactResponse`), so
        every method runs on it. Scoring a method on it measures the method's own error,
        free of the network's: e.g. IG, occlusion and DeepLIFT reproduce ``truth`` for any
        baseline, while Input×Gradient cannot. At a PWL knot, gradients use the slope on the
        left. Noise (``noise_snr``) is not part of F. An interacting response (``pairs``,
        ``gating``) adds its products or gate as torch modules of their own
        (:class:`xattrib.architectures.ExactInteracting`): every method but LRP runs on it,
        and the benchmark's kinds of truth say what each should return
        (``docs/interactions.md``).

        Examples
        --------
        >>> import xattrib
        >>> bench = xattrib.benchmark(n_samples=200, seed=0, chunks=200)
        >>> f = xattrib.Model.exact(bench)
        >>> bool(abs(f.predict(bench) - bench["y"]).max() < 1e-5)
        True
        """
        from ..architectures import ExactInteracting, ExactResponse

        gen = generator_from_dataset(bench)
        cells = gen.covariance.cells
        d = gen.n_cells  # every variable's cells in turn
        arch = "exact"
        if not gen.response.additive:  # its products or gate as modules of their own
            net: Any = ExactInteracting.from_response(gen.response, gen.scale)
            arch = "exact-interacting"  # rebuilt from the benchmark, never from a file
        else:
            net = ExactResponse.from_response(gen.response, gen.scale)
        if gen.space is not None:  # F acts on s = A x: a linear layer in front
            import torch

            lin = torch.nn.Linear(d, gen.space.n_features, bias=False)
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(gen.space.analysis, dtype=torch.float32))
            net = torch.nn.Sequential(lin, net)
            arch = "exact-space"  # rebuilt from the benchmark, never from a file
        model = cls(net, arch, net.arch_kwargs() if arch == "exact" else {}, cells,
                    np.zeros(d, np.float32), np.ones(d, np.float32), 0.0, 1.0, r2=1.0,
                    linear_r2=float("nan"))
        model.provenance = {"exact_response_family": gen.response.name,
                            "exact_response_scale": float(gen.scale),
                            "exact_kink_derivative": "left"}
        if gen.variables:
            model.variables = list(gen.variables)
        return model

    # -- the network users explain -----------------------------------------------------------
    def network(self, device: Any = None, private: bool = False, output: Any = None
                ) -> torch.nn.Module:
        """The network from raw inputs (stacked valid cells) to raw ``y``, in eval mode.

        Normalisation is folded into the weights (see
        :func:`xattrib.architectures.fold_normalisation`); this is what attribution methods see.
        ``private=True`` gives this thread its own copy: DeepLIFT and LRP attach hooks and
        rules to modules, which must not be shared by concurrent dask threads. ``output``
        picks one output of a multi-output model (name or index).
        """
        from ..architectures import fold_normalisation

        dev = resolve_device(device)
        k = self.output_index(output)
        if private:
            import copy

            local = self.__dict__.setdefault("_local", threading.local())
            nets = local.__dict__.setdefault("nets", {})
            cached = nets.get(k)
            if cached is None or next(cached.parameters()).device != dev:
                nets[k] = copy.deepcopy(self.network(device, output=k))
            return nets[k]
        if not isinstance(self._network, dict):
            self._network = {}
        net = self._network.get(k)
        if net is None or next(net.parameters()).device != dev:
            if self.spec is not None:
                from .wrapping import Wrapped

                net = Wrapped(self.module.cpu(), self.spec, self.cells.image_flat, self.cells.shape,
                              len(self.variables), self.x_mean, self.x_std,
                              float(np.atleast_1d(self.y_mean)[k]),
                              float(np.atleast_1d(self.y_std)[k]), k)
            else:
                net = fold_normalisation(self.module.cpu(), self.x_mean, self.x_std,
                                         self.y_mean, self.y_std)
            self._network[k] = net = net.to(dev).eval()
        return net

    def invalidate(self) -> None:
        """Forget the folded network (call after changing :attr:`module`'s weights)."""
        self._network = None

    def __getstate__(self) -> dict[str, Any]:  # travel light to dask workers
        state = self.__dict__.copy()
        state["_network"] = None
        state.pop("_local", None)
        return state

    @property
    def trained_by_xattrib(self) -> bool:
        """Whether xattrib trained this network, so ``x_mean``/``x_std`` are the statistics
        of its training inputs (not a wrapped module's, an exact response's or an instance
        trained elsewhere)."""
        return self.spec is None and self.arch not in ("exact", "exact-space",
                                                       "exact-interacting", "module-instance")

    def warn_if_unfamiliar(self, x: np.ndarray, limit: float = OFF_DISTRIBUTION_STD) -> None:
        """Warn when the mean of inputs ``x`` (stacked cells, ``(n, C·d)``) is more than
        ``limit`` training standard deviations from the training mean at some cell: raw
        fields with the climatology left in, other units, another variable. Only for
        networks xattrib trained (a wrapped module's normalisation is the user's own)."""
        if not self.trained_by_xattrib:
            return
        if x.shape[0] == 0:
            return
        z = (np.mean(x, axis=0, dtype=np.float64) - self.x_mean) / self.x_std
        worst = float(np.nanmax(np.abs(z)))
        if worst > limit:
            cell = int(np.nanargmax(np.abs(z)))
            warnings.warn(
                f"the inputs are far from what the network was trained on: their mean is "
                f"{worst:.0f} training standard deviations from the training mean (input "
                f"{cell}). Predictions and attributions there are extrapolation. Pass "
                "anomalies standardised like the training data (e.g. remove the "
                "climatology)", UserWarning, stacklevel=2)

    def _predict_numpy(self, x: np.ndarray, device: Any = None, output: Any = None
                       ) -> np.ndarray:
        import torch

        self.warn_if_unfamiliar(x)
        net = self.network(device, output=output)
        dev = next(net.parameters()).device
        out = np.empty(x.shape[0])
        with torch.no_grad():
            for s in range(0, x.shape[0], _PREDICT_BATCH):
                xb = torch.from_numpy(np.ascontiguousarray(x[s:s + _PREDICT_BATCH],
                                                          dtype=np.float32)).to(dev)
                out[s:s + xb.shape[0]] = net(xb).squeeze(1).double().cpu().numpy()
        return out

    def input_flat(self) -> np.ndarray:
        """Flat indices of the valid cells in the variables' grids laid end to end
        (``C · ny · nx`` values per sample): what the network reads, in order."""
        size = self.cells.shape[0] * self.cells.shape[1]
        return np.concatenate([self.cells.flat + c * size for c in range(len(self.variables))])

    def input_names(self, x: str | None = None) -> list[str]:
        """The variables to read from a Dataset: the model's own, or ``x`` for a
        single-variable model (xattrib's networks read ``x`` by default)."""
        if x is not None and len(self.variables) == 1:
            return [x]
        return list(self.variables)

    def inputs(self, ds: xr.Dataset | xr.DataArray, x: str | None = None
               ) -> list[xr.DataArray]:
        """The model's input variables from ``ds``, in channel order, each checked to be on
        the model's grid (a clear error names what is missing or what differs)."""
        names = self.input_names(x)
        if isinstance(ds, xr.DataArray):
            if len(names) > 1:
                raise ValueError(f"the model reads variables {names}; pass a Dataset with them")
            parts = [ds]
        else:
            missing = [n for n in names if n not in ds]
            if missing:
                raise ValueError(f"the Dataset has no variable {missing[0]!r} (the model's "
                                 f"input{'s' if len(names) > 1 else ''}: {names}); it has "
                                 f"{sorted(map(str, ds.data_vars))}"
                                 + ("; pass x= to name the inputs" if len(names) == 1 else ""))
            parts = [ds[n] for n in names]
        for da in parts:
            self.cells.check_grid(da, what=f"variable {da.name!r}")
        return parts

    def _stack(self, ds: xr.Dataset | xr.DataArray, x: str | None = None) -> xr.DataArray:
        """``(sample, C·d)``: every input variable's valid cells, one after another."""
        stacked = []
        for da in self.inputs(ds, x):
            st = self.cells.stack(da)
            stacked.append(st.drop_vars([c for c in st.coords if "cell" in st[c].dims]))
        if len(stacked) == 1:
            return stacked[0]
        both = xr.concat(stacked, dim="cell")
        return both.chunk({"cell": -1}) if both.chunks else both  # one block of inputs

    def predict(self, ds: xr.Dataset | xr.DataArray, x: str | None = None,
                device: Any = None, output: Any = "all") -> xr.DataArray:
        """Predicted ``y`` for every sample of ``ds`` (lazy for dask-backed input).

        A multi-output model returns every output along an ``output`` dimension unless
        ``output=`` (name or index) picks one.

        Examples
        --------
        >>> import xattrib
        >>> bench = xattrib.benchmark(n_samples=3000, response="linear", chunks=1000)
        >>> m = xattrib.fit(bench, epochs=2, hidden=(16,), progress=False, fresh=False)
        >>> m.predict(bench).dims
        ('sample',)
        """
        stacked = self._stack(ds, x)
        picks = list(range(len(self.outputs))) if output == "all" else [
            self.output_index(output)]
        outs = [xr.apply_ufunc(
            self._predict_numpy, stacked, input_core_dims=[["cell"]], dask="parallelized",
            output_dtypes=[np.float64], kwargs={"device": device, "output": k},
        ) for k in picks]
        out = outs[0] if len(picks) == 1 else xr.concat(outs, dim="output").assign_coords(
            output=("output", [self.outputs[k] for k in picks],
                    {"long_name": "network output"})).transpose(..., "output")
        return out.rename("prediction").assign_attrs(
            long_name="network prediction of the response", units="1")

    def own_attribution(self, ds: xr.Dataset | xr.DataArray, baseline: Any = "zero",
                        x: str | None = None, device: Any = None) -> xr.DataArray:
        """The exact attribution of an additive network (``fit(arch="additive")``) to each
        cell: y_std · (gᵢ(x̃ᵢ) − gᵢ(b̃ᵢ)) in raw units, x̃ the standardised input.

        It sums to the network's output minus its output at the baseline, for any
        baseline: ``"zero"``, ``"mean"`` (the training mean), a number or a (lat, lon)
        field. What a method returns on this network can be checked against it
        (:func:`xattrib.scoring.split_error`). Lazy for dask input.

        Examples
        --------
        >>> import xattrib
        >>> bench = xattrib.benchmark(n_samples=2000, response="linear", chunks=1000)
        >>> m = xattrib.fit(bench, arch="additive", hidden=(8,), epochs=1,
        ...                 samples_per_epoch=2000, progress=False)
        >>> test = bench.isel(sample=slice(0, 5))
        >>> own = m.own_attribution(test)                  # relative to zero
        >>> f0 = m.predict(test.assign(x=test["x"] * 0))   # the output at the baseline
        >>> gap = own.sum(["lat", "lon"]) - (m.predict(test) - f0)
        >>> bool(abs(gap).max() < 1e-4)
        True
        """
        if not hasattr(self.module, "contributions"):
            raise ValueError(f"a network of architecture {self.arch!r} has no exact "
                             "attribution of its own; train one with fit(arch='additive')")
        spec = parse_baseline(baseline, self.cells, allowed=("zero", "mean"))
        if spec.kind == "zero":
            b = np.zeros(self.cells.n_cells)
        elif spec.kind == "mean":
            b = np.asarray(self.x_mean, float)
        elif spec.fixed is not None:
            b = spec.fixed
        else:
            raise ValueError("own_attribution takes one baseline field for every sample: "
                             "'zero', 'mean', a number or a (lat, lon) field")
        stacked = self._stack(ds, x)
        out = xr.apply_ufunc(self._own_numpy, stacked, input_core_dims=[["cell"]],
                             output_core_dims=[["cell"]], dask="parallelized",
                             output_dtypes=[np.float64],
                             kwargs={"base": b, "device": device})
        out = out.assign_coords(stacked["cell"].coords) if "cell" in stacked.coords else out
        return self.cells.unstack(out).rename("own_attribution").assign_attrs(
            long_name="the additive network's own exact attribution", units="1",
            baseline=str(baseline) if isinstance(baseline, str | int | float) else "field")

    def _own_numpy(self, x: np.ndarray, base: np.ndarray, device: Any = None) -> np.ndarray:
        import torch

        dev = resolve_device(device)
        net = self.module.to(dev).eval()
        mean = np.asarray(self.x_mean, np.float32)
        std = np.asarray(self.x_std, np.float32)
        with torch.no_grad():
            b = torch.from_numpy(((base - mean) / std).astype(np.float32)[None]).to(dev)
            gb = net.contributions(b).double().cpu().numpy()
            out = np.empty(x.shape)
            for s in range(0, x.shape[0], _PREDICT_BATCH):
                xb = ((np.asarray(x[s:s + _PREDICT_BATCH], np.float32) - mean) / std)
                g = net.contributions(torch.from_numpy(xb).to(dev)).double().cpu().numpy()
                out[s:s + xb.shape[0]] = (g - gb) * float(np.atleast_1d(self.y_std)[0])
        return out

    def score(self, ds: xr.Dataset, x: str | None = None, y: str = "y") -> float:
        """R² of the predictions against ``ds[y]`` (computes)."""
        p = self.predict(ds, x, output=None).values
        t = np.asarray(ds[y].values, float)
        return float(1 - np.sum((p - t) ** 2) / np.sum((t - t.mean()) ** 2))

    # -- persistence ---------------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        return model_file.to_dataset(self)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to a netCDF file (atomically; no pickled code).

        A user's module (:meth:`from_module`) is saved as its state dict plus the
        ``factory`` that rebuilds it, which must be given.
        """
        return model_file.save(self, path)

    def check_savable(self) -> None:
        """Raise, saying why, if this model cannot be written to a file."""
        model_file.check_savable(self)

    @classmethod
    def load(cls, path: str | os.PathLike, factory: Any = None,
             trusted: str | list[str] | tuple[str, ...] = ()) -> Model:
        """Read a model written by :meth:`save`. Reading never runs code the file names.

        xattrib's own architectures (``mlp``, ``cnn``, ``exact``) are rebuilt from its
        registry by name. A network of your own is rebuilt only by a factory *you* supply or
        approve; the file's keyword arguments must be plain data that fit its signature, and
        what it returns must match the stored parameters in names and shapes before any
        weight is loaded.

        Parameters
        ----------
        path : str or path
        factory : callable or mapping, optional
            Your function that builds the network; its ``module:qualname`` must be the name
            the file stores. ``{stored_name: function}`` approves a renamed or moved one.
        trusted : str or list of str
            ``"package.module:function"`` names you allow to be imported and called.

        Examples
        --------
        >>> import torch, xattrib
        >>> sst = xattrib.datasets.pacific_sst()
        >>> net = torch.nn.Linear(450, 1)
        >>> m = xattrib.Model.from_module(net, like=sst, factory=torch.nn.Linear,
        ...                               factory_kwargs={"in_features": 450, "out_features": 1})
        >>> path = m.save(getfixture("tmp_path") / "linear.nc")
        >>> xattrib.Model.load(path)
        Traceback (most recent call last):
        ...
        xattrib.training.factories.UntrustedFactoryError: the model file ... asks to rebuild its network with 'torch.nn.modules.linear:Linear'; ...
        >>> back = xattrib.Model.load(path, factory=torch.nn.Linear)
        >>> back.variables
        ['sst']
        """
        return model_file.load(cls, path, factory, trusted)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, factory: Any = None,
                     trusted: str | list[str] | tuple[str, ...] = (),
                     source: str = "the model Dataset") -> Model:
        """The model a :meth:`to_dataset` Dataset describes (what :meth:`load` reads); the same
        rules: no code the Dataset names runs unless you supply or approve it."""
        return model_file.from_dataset(cls, ds, factory, trusted, source)


def _probe(module: Any, d: int, what: str) -> None:
    """A network built by a user's factory reads ``(batch, d)`` and returns one value per
    sample, or a clear error before training starts (not a shape error inside it)."""
    import torch

    try:
        with torch.no_grad():
            out = module(torch.zeros(2, d))
    except Exception as err:  # the user's network: say what it was given, in their terms
        raise ValueError(f"the network {what} cannot read the input fit gives it, a (batch, "
                         f"{d}) tensor of standardised valid cells ({type(err).__name__}: "
                         f"{err}); build it for {d} inputs (docs/your-own-model.md)") from None
    if tuple(out.shape) not in ((2,), (2, 1)):
        raise ValueError(f"the network {what} returns shape {tuple(out.shape)[1:]} per "
                         "sample; fit trains one output: return (batch, 1) or (batch,)")


