"""``xattrib.Model``: a trained network with its normalisation, grid and provenance.

Saved as a netCDF file of plain arrays (state-dict tensors, normalisation, the grid mask)
plus JSON attributes (architecture keyword arguments, history) — never a pickled module, so
a model file can be inspected with any netCDF tool and loaded without running code.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .stacking import CellIndex

if TYPE_CHECKING:
    import torch

__all__ = ["Model", "resolve_device"]

_PREDICT_BATCH = 8192


def resolve_device(device: Any = None) -> torch.device:
    """``None`` → CUDA when available, else CPU; otherwise ``torch.device(device)``."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _arch_inputs(arch: str, cells: CellIndex) -> dict[str, Any]:
    """Keyword arguments an architecture derives from the grid (never stored twice)."""
    if arch in ("mlp", "exact"):
        return {"n_inputs": cells.n_cells}
    return {"flat": cells.flat, "shape": cells.shape}


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
    _network: Any = field(default=None, init=False, repr=False)

    @classmethod
    def build(cls, arch: str, cells: CellIndex, arch_kwargs: dict[str, Any], x_mean: np.ndarray,
              x_std: np.ndarray, y_mean: float, y_std: float) -> Model:
        from .models import build_module

        clash = set(arch_kwargs) & set(_arch_inputs(arch, cells))
        if clash:
            raise ValueError(f"{sorted(clash)} come from the data's grid; do not pass them")
        module = build_module(arch, **_arch_inputs(arch, cells), **arch_kwargs)
        return cls(module, arch, dict(arch_kwargs), cells, np.asarray(x_mean, np.float32),
                   np.asarray(x_std, np.float32), float(y_mean), float(y_std))

    @classmethod
    def exact(cls, bench: xr.Dataset) -> Model:
        """The benchmark's own response F as a model: explain the *true* function.

        ``y = scale · Σᵢ Fᵢ(xᵢ)`` from the benchmark's stored parameters, as a plain
        Linear–activation–Linear network (:class:`xattrib.exact_response.ExactResponse`), so
        every method runs on it. Scoring a method on it measures the method's own error,
        free of the network's: e.g. IG, occlusion and DeepLIFT reproduce ``truth`` for any
        baseline, while Input×Gradient cannot. At a PWL knot, gradients use the slope on the
        left. Noise (``noise_snr``) is not part of F.

        Examples
        --------
        >>> import xattrib
        >>> bench = xattrib.benchmark(n_samples=200, seed=0, chunks=200)
        >>> f = xattrib.Model.exact(bench)
        >>> bool(abs(f.predict(bench) - bench["y"]).max() < 1e-5)
        True
        """
        from .exact_response import ExactResponse
        from .synthetic import generator_from_dataset

        gen = generator_from_dataset(bench)
        cells = gen.covariance.cells
        net = ExactResponse.from_response(gen.response, gen.scale)
        d = cells.n_cells
        model = cls(net, "exact", net.arch_kwargs(), cells, np.zeros(d, np.float32),
                    np.ones(d, np.float32), 0.0, 1.0, r2=1.0, linear_r2=float("nan"))
        model.provenance = {"exact_response_family": gen.response.name,
                            "exact_response_scale": float(gen.scale),
                            "exact_kink_derivative": "left"}
        return model

    # -- the network users explain -----------------------------------------------------------
    def network(self, device: Any = None, private: bool = False) -> torch.nn.Module:
        """The network from raw inputs (stacked valid cells) to raw ``y``, in eval mode.

        Normalisation is folded into the weights (see
        :func:`xattrib.models.fold_normalisation`); this is what attribution methods see.
        ``private=True`` gives this thread its own copy: DeepLIFT and LRP attach hooks and
        rules to modules, which must not be shared by concurrent dask threads.
        """
        from .models import fold_normalisation

        dev = resolve_device(device)
        if private:
            import copy

            local = self.__dict__.setdefault("_local", threading.local())
            cached = getattr(local, "net", None)
            if cached is None or next(cached.parameters()).device != dev:
                local.net = copy.deepcopy(self.network(device))
            return local.net
        if self._network is None or next(self._network.parameters()).device != dev:
            net = fold_normalisation(self.module.cpu(), self.x_mean, self.x_std, self.y_mean,
                                     self.y_std)
            self._network = net.to(dev).eval()
        return self._network

    def invalidate(self) -> None:
        """Forget the folded network (call after changing :attr:`module`'s weights)."""
        self._network = None

    def __getstate__(self) -> dict[str, Any]:  # travel light to dask workers
        state = self.__dict__.copy()
        state["_network"] = None
        state.pop("_local", None)
        return state

    def _predict_numpy(self, x: np.ndarray, device: Any = None) -> np.ndarray:
        import torch

        net = self.network(device)
        dev = next(net.parameters()).device
        out = np.empty(x.shape[0])
        with torch.no_grad():
            for s in range(0, x.shape[0], _PREDICT_BATCH):
                xb = torch.from_numpy(np.ascontiguousarray(x[s:s + _PREDICT_BATCH],
                                                          dtype=np.float32)).to(dev)
                out[s:s + xb.shape[0]] = net(xb).squeeze(1).double().cpu().numpy()
        return out

    def _stack(self, ds: xr.Dataset | xr.DataArray, x: str = "x") -> xr.DataArray:
        da = ds[x] if isinstance(ds, xr.Dataset) else ds
        self.cells.check_grid(da, what="the data")
        return self.cells.stack(da)

    def predict(self, ds: xr.Dataset | xr.DataArray, x: str = "x",
                device: Any = None) -> xr.DataArray:
        """Predicted ``y`` for every sample of ``ds`` (lazy for dask-backed input).

        Examples
        --------
        >>> import xattrib
        >>> bench = xattrib.benchmark(n_samples=3000, response="linear", chunks=1000)
        >>> m = xattrib.fit(bench, epochs=2, hidden=(16,), progress=False)
        >>> m.predict(bench).dims
        ('sample',)
        """
        stacked = self._stack(ds, x)
        out = xr.apply_ufunc(
            self._predict_numpy, stacked, input_core_dims=[["cell"]], dask="parallelized",
            output_dtypes=[np.float64], kwargs={"device": device},
        )
        return out.rename("prediction").assign_attrs(
            long_name="network prediction of the response", units="1")

    def score(self, ds: xr.Dataset, x: str = "x", y: str = "y") -> float:
        """R² of the predictions against ``ds[y]`` (computes)."""
        p = self.predict(ds, x).values
        t = np.asarray(ds[y].values, float)
        return float(1 - np.sum((p - t) ** 2) / np.sum((t - t.mean()) ** 2))

    # -- persistence ---------------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        ds = self.cells.to_dataset()
        for key, tensor in self.module.state_dict().items():
            name = "param_" + key.replace(".", "_")
            arr = tensor.detach().cpu().numpy()
            if arr.dtype == np.int64:  # CF-1.8 has no int64
                arr = arr.astype(np.int32)
            ds[name] = (tuple(f"{name}_d{i}" for i in range(arr.ndim)), arr,
                        {"long_name": f"network parameter {key}", "state_dict_key": key})
        ds["x_mean"] = ("cell", self.x_mean, {"long_name": "training mean of x", "units": "1"})
        ds["x_std"] = ("cell", self.x_std, {"long_name": "training std of x", "units": "1"})
        ds.attrs.update({
            "title": f"xattrib model ({self.arch})", "xattrib_arch": self.arch,
            "xattrib_arch_kwargs": json.dumps(self.arch_kwargs),
            "xattrib_y_mean": self.y_mean, "xattrib_y_std": self.y_std,
            "xattrib_r2": self.r2, "xattrib_linear_r2": self.linear_r2,
            "xattrib_history": json.dumps(self.history),
            "xattrib_provenance": json.dumps(self.provenance),
        })
        return ds

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to a netCDF file (atomically; no pickled code)."""
        from .io import to_netcdf

        return to_netcdf(self.to_dataset(), path, title=f"xattrib model ({self.arch})")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Model:
        """Read a model written by :meth:`save`."""
        import torch

        from .io import open_dataset

        with open_dataset(path) as ds:
            ds = ds.load()
        if "xattrib_arch" not in ds.attrs:
            raise ValueError(f"{path} is not an xattrib model file (no xattrib_arch attribute)")
        cells = CellIndex.from_dataset(ds)
        a = ds.attrs
        model = cls.build(a["xattrib_arch"], cells, json.loads(a["xattrib_arch_kwargs"]),
                          ds["x_mean"].values, ds["x_std"].values, a["xattrib_y_mean"],
                          a["xattrib_y_std"])
        state = {}
        own = model.module.state_dict()
        for name in ds.data_vars:
            key = ds[name].attrs.get("state_dict_key")
            if key is not None:
                state[key] = torch.as_tensor(ds[name].values).to(own[key].dtype)
        model.module.load_state_dict(state)
        model.module.eval()
        model.r2, model.linear_r2 = float(a["xattrib_r2"]), float(a["xattrib_linear_r2"])
        model.history = json.loads(a["xattrib_history"])
        model.provenance = json.loads(a["xattrib_provenance"])
        return model
