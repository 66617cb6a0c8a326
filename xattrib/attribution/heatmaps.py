"""``attribute()``: heatmaps of a trained model for every sample, as a CF Dataset.

The xarray/dask side lives here once for all methods: resolve the baseline, batch samples
under a memory bound (captum batches only inside a call, and GradientShap/DeepLiftShap not
at all), gather each batch's valid cells (land never reaches captum) and write its results
straight into the gridded output with NaN on invalid cells, run lazily per dask chunk with
the model as one graph key (it travels to each distributed worker once), and attach CF
attributes, the completeness error and the prediction.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Iterator
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from ..baselines import parse_baseline
from ..dims import GROUP_DIM, METHOD_DIM, sample_dim_of
from ..generation import generator_from_dataset
from ..grid import CellIndex, find_latlon, group_ids, require_xarray
from ..methods import METHODS, Method, get_method
from ..parallel import task_threads
from ..registry import own_keyword_hint, take_alias
from ..training import Ensemble, Model
from ..training.model import resolve_device
from .output import (
    global_attrs,
    heat_attrs,
    method_coords,
    per_sample_vars,
    sample_coord,
)

__all__ = ["attribute", "resolve_baseline"]

_MAX_ROWS = 2_048       # forward rows per captum call: bounds memory, and on CPU larger
                        # calls were slower (IG on 2000 samples: 5.9 s at 65 536 rows,
                        # 3.4 s at 8192; gradients of 10⁴ samples: 0.23 s in one call,
                        # 0.18-0.20 s in calls of 1024-2048; benchmarks/attribute.py)
_BACKGROUND_START = 2**31  # generator indices of 'expectation' backgrounds: never data


class Baseline:
    """A resolved baseline: one reference per sample, a fixed reference, or a background."""

    def __init__(self, kind: str, fixed: np.ndarray | None = None,
                 per_sample: Any = None, background: np.ndarray | None = None) -> None:
        self.kind, self.fixed, self.per_sample, self.background = kind, fixed, per_sample, background

    def for_method(self, m: Method) -> str | None:
        """Why ``m`` cannot use this baseline (None when it can)."""
        if m.baseline == "single" and self.background is not None:
            return (f"method {m.name!r} compares with one baseline input, but baseline "
                    f"{self.kind!r} is a background distribution; use baseline='zero', "
                    "'mean', a field or per-sample DataArray, or drop the method")
        if m.baseline == "distribution" and self.per_sample is not None:
            return (f"method {m.name!r} needs a background distribution, not per-sample "
                    "baselines; pass baseline='expectation' or a background DataArray")
        return None


def resolve_baseline(baseline: Any, ds: xr.Dataset, model: Model, n_background: int = 100,
                     seed: int = 0, sample_dim: str = "sample") -> Baseline:
    """Turn the baseline vocabulary (:mod:`xattrib.baselines`) into arrays over the model's
    valid cells.

    ``"zero"``; ``"mean"`` (the model's training mean); a number; a field DataArray over
    (lat, lon); a per-sample DataArray over (sample, lat, lon); a background DataArray over
    (background, lat, lon); or ``"expectation"``: a background of ``n_background`` draws
    from the benchmark's own generator (the distribution behind the truth's E[F(X)]).
    """
    n_vars = len(model.variables)
    spec = parse_baseline(baseline, model.cells, n_vars=n_vars, sample_dim=sample_dim,
                          n_samples=ds.sizes.get(sample_dim))
    if spec.kind == "zero":
        return Baseline("zero", fixed=np.zeros(model.cells.n_cells * n_vars, np.float32))
    if spec.kind == "mean":
        return Baseline("mean", fixed=np.asarray(model.x_mean, np.float32))
    if spec.kind == "expectation":
        if "xattrib_seed" not in ds.attrs:
            raise ValueError("baseline='expectation' draws its background from a benchmark "
                             "Dataset's generator; for other data pass a background "
                             "DataArray with dims (background, lat, lon)")
        gen = generator_from_dataset(ds)
        start = _BACKGROUND_START + seed * n_background
        return Baseline("expectation", background=gen.draw_x(start, start + n_background))
    if spec.kind == "background":
        return Baseline("background", background=np.asarray(spec.background, np.float32))
    if spec.kind == "per-sample":
        return Baseline("per-sample", per_sample=spec.per_sample)
    label = f"value {spec.value:g}" if spec.kind == "value" else spec.kind
    return Baseline(label, fixed=np.asarray(spec.fixed, np.float32))


_RNG_LOCK = threading.Lock()


@contextlib.contextmanager
def seeded_global_rngs(seed: int, key: int, device: Any = None) -> Iterator[None]:
    """torch's and numpy's global generators seeded from ``(seed, key)`` inside, restored
    after, one thread at a time.

    captum's random methods draw from the global generators (NoiseTunnel and Shapley
    sampling from torch's, GradientShap from numpy's) and take no generator argument; under
    dask's threads, batches interleaved on the shared streams and gave different maps on
    every run. With ``key`` the global index of the batch's first sample, a batch's noise
    depends only on the seed and which samples it holds, never on scheduling, and the
    user's own random state is left as it was.
    """
    import torch

    a, b = np.random.SeedSequence([int(seed), int(key)]).generate_state(2)
    devices = [device] if device is not None and torch.device(device).type == "cuda" else []
    with _RNG_LOCK, torch.random.fork_rng(devices=devices):
        state = np.random.get_state()
        torch.manual_seed(int(a))
        np.random.seed(int(b))
        try:
            yield
        finally:
            np.random.set_state(state)


def _patch_groups(cells: CellIndex, patch: int, n_vars: int = 1) -> np.ndarray | None:
    """Group ids of patch × patch blocks of grid cells, over valid cells only (each
    variable's cells in groups of their own)."""
    if int(patch) < 1:
        raise ValueError(f"patch must be a positive number of cells, got {patch!r}")
    if int(patch) == 1:
        return None
    ny, nx = cells.shape
    iy, ix = np.divmod(cells.image_flat, nx)  # columns in their order round the sphere
    raw = (iy // patch) * ((nx + patch - 1) // patch) + ix // patch
    ids = np.unique(raw, return_inverse=True)[1].astype(np.int64)
    return np.concatenate([ids + v * (ids.max() + 1) for v in range(n_vars)])


def _kernel(x: np.ndarray, base: np.ndarray | None, index: np.ndarray, model: Model,
            method: str, params: dict[str, Any], fixed: np.ndarray | None,
            background: np.ndarray | None, device: Any, batch: int, seed: int = 0,
            want_prediction: bool = False, progress: bool = False,
            out: np.ndarray | None = None, output_index: int = 0) -> np.ndarray:
    """Gridded numpy ``(n, ny * nx)`` → ``(n, ny * nx + 2)``: attributions on the grid (NaN
    on invalid cells), then the completeness error, then the prediction (NaN unless asked);
    written into ``out`` (a C-contiguous array of that shape) when given. ``index`` holds
    the global sample index of every row (it seeds random methods per batch).

    Cells are gathered per batch (land never reaches captum) and results scattered straight
    into the gridded output: no stacked copy of the whole block is ever made.
    """
    import torch
    from tqdm.auto import tqdm

    m = METHODS[method]
    flat, size = model.input_flat(), x.shape[1]  # the variables' grids end to end
    model.warn_if_unfamiliar(np.asarray(np.mean(x, axis=0, dtype=np.float64))[None, flat])
    net = model.network(device, private=True, output=output_index)
    dev = next(net.parameters()).device
    run_params = method_run_params(m, params, model, dev)
    bg = None if background is None else torch.as_tensor(background, device=dev)
    if m.baseline == "distribution" and bg is None:
        bg = torch.as_tensor(fixed, device=dev)[None]  # one reference point
    take, put = _gather_scatter(flat, size, dev)
    if out is None:
        out = np.empty((x.shape[0], size + 2), np.float32)
    out_t = torch.from_numpy(out)
    f_base: list[Any] = []  # f(baseline), evaluated once when it is the same for all rows
    if x.shape[0]:  # wide networks (the exact F at 1°: 300k units) take fewer rows a call
        per_row = activations_per_row(net, _gather(x[:1], flat, take, dev))
        batch = max(1, min(batch, _MAX_ACTIVATIONS // max(per_row * m.expansion(params), 1)))
    starts = range(0, x.shape[0], batch)
    for s in tqdm(starts, desc=method, disable=not progress, unit="batch", leave=False):
        rows = slice(s, min(s + batch, x.shape[0]))
        xb = _gather(x[rows], flat, take, dev)
        bb = _batch_baseline(base, fixed, rows, xb, dev)
        rngs = (seeded_global_rngs(seed, int(index[s]), dev) if m.random
                else contextlib.nullcontext())
        with rngs:
            a, fx = run_method_batch(m, net, xb, bb, bg, run_params, want_prediction)
        ext = _with_extras(m, net, a, fx, xb, bb, bg, base is not None, want_prediction,
                           f_base)
        if dev.type == "cpu":
            torch.index_select(ext, 1, put, out=out_t[rows])
        else:
            out_t[rows] = ext.index_select(1, put).cpu()
    return out


#: inputs and activations (float32 values) one captum call may hold, 256 MiB
_MAX_ACTIVATIONS = 2**26


def activations_per_row(net: Any, row: Any) -> int:
    """Values one input row takes through ``net``: the row itself (perturbation methods copy
    it once per perturbation) plus what every leaf module outputs (one forward pass)."""
    import torch

    total = [int(row.numel())]

    def count(_m: Any, _i: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            total[0] += int(out.numel())

    hooks = [mod.register_forward_hook(count) for mod in net.modules()
             if not list(mod.children())]
    try:
        with torch.no_grad():
            net(row)
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def method_run_params(m: Method, params: dict[str, Any], model: Model, dev: Any) -> dict[str, Any]:
    """The method's keyword arguments for one call: ``patch`` becomes a feature mask."""
    import torch

    run_params = {k: v for k, v in params.items() if k not in ("n_background", "_groups")}
    if "_groups" in params:  # attribute(groups=...): the groups replace the patches
        run_params["feature_mask"] = torch.as_tensor(params["_groups"], device=dev)[None]
    elif "patch" in params:
        groups = _patch_groups(model.cells, params["patch"], len(model.variables))
        run_params["feature_mask"] = (None if groups is None else
                                      torch.as_tensor(groups, device=dev)[None])
    return run_params


def _gather_scatter(flat: np.ndarray, size: int, dev: Any) -> tuple[Any, Any]:
    """Indices that gather the valid cells of a gridded row, and that scatter a row of
    ``(d attributions, NaN, completeness error, prediction)`` back onto the grid (every grid
    cell reads its value or the NaN column). torch's threaded index kernels: about twice
    numpy's speed here."""
    import torch

    d = flat.size
    put = np.full(size + 2, d)
    put[flat] = np.arange(d)
    put[size:] = (d + 1, d + 2)
    return torch.as_tensor(flat, device=dev), torch.as_tensor(put, device=dev)


def _gather(rows: np.ndarray, flat: np.ndarray, take: Any, dev: Any) -> Any:
    """The batch's valid cells as a float32 tensor of its own (land never reaches captum;
    captum reads it and never writes it, so no defensive copy)."""
    import torch

    if rows.flags.writeable and rows.dtype.isnative:
        return torch.from_numpy(rows).to(dev).index_select(1, take).float()
    # read-only chunks (torch would warn) or exotic dtypes: numpy gathers
    return torch.from_numpy(np.take(rows, flat, axis=1).astype(np.float32)).to(dev)


def _batch_baseline(base: np.ndarray | None, fixed: np.ndarray | None, rows: slice, xb: Any,
                    dev: Any) -> Any:
    """The batch's baselines: per sample, one fixed field for every row, or none."""
    import torch

    if base is not None:
        return torch.as_tensor(np.ascontiguousarray(base[rows], np.float32), device=dev)
    if fixed is not None:
        return torch.as_tensor(fixed, device=dev).expand_as(xb)
    return None


def run_method_batch(m: Method, net: Any, xb: Any, bb: Any, bg: Any, run_params: dict[str, Any],
               want_prediction: bool) -> tuple[Any, Any]:
    """(attributions, f(x) when the method's own forward pass gave it, else None)."""
    seen: list[Any] = []
    hook = None
    if want_prediction and m.forward_is_prediction:
        # the method's own forward pass on xb is the prediction: keep its output
        def keep(module: Any, args: tuple[Any, ...], output: Any) -> None:
            if not seen and args and args[0] is xb:
                seen.append(output.detach())
        hook = net.register_forward_hook(keep)
    try:
        a = m.run(net, xb.requires_grad_(), bb if m.baseline == "single" else None, bg,
                  **run_params).detach()
    finally:
        if hook is not None:
            hook.remove()
    return a, (seen[0] if seen else None)


def _with_extras(m: Method, net: Any, a: Any, fx: Any, xb: Any, bb: Any, bg: Any,
                 per_sample: bool, want_prediction: bool, f_base: list[Any]) -> Any:
    """``(b, d + 3)``: the attributions, a NaN column, the completeness error
    Σa − (f(x) − f(b)) of complete methods and the prediction (NaN where not asked)."""
    import torch

    d = a.shape[1]
    ext = torch.empty((a.shape[0], d + 3), dtype=torch.float32, device=a.device)
    ext[:, :d] = a
    ext[:, d] = math.nan
    with torch.no_grad():
        if fx is None and (m.complete or want_prediction):
            fx = net(xb)
        if m.complete:
            if per_sample and m.baseline == "single":
                fb = net(bb).squeeze(1)
            else:  # one baseline (or background) for every sample: evaluate it once
                if not f_base:
                    f_base.append(net(bg).mean() if m.baseline == "distribution"
                                  else net(bb[:1]).squeeze(1))
                fb = f_base[0]
            ext[:, d + 1] = a.sum(1) - (fx.squeeze(1) - fb)
        else:
            ext[:, d + 1] = math.nan
        ext[:, d + 2] = fx.squeeze(1) if want_prediction and fx is not None else math.nan
    return ext


def method_names(value: Any, arg: str = "methods") -> list[str]:
    """``methods=`` as a list of names: one name or a list/tuple of names, nothing that
    Python would happily iterate into something else (a dict's keys, a string's letters)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{arg} must be a method name or a list of names, e.g. {arg}="
                        f"['integrated_gradients', 'gradient']; got {value!r}")
    return list(value)


#: Integrated Gradients' integration rules (its own ``method`` parameter, captum's name)
_IG_RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle",
             "riemann_trapezoid")


def choose_methods(names: Any, arg: str) -> list[Method]:
    """The registry methods named in argument ``arg``: none missing, none twice."""
    names = method_names(names, arg)
    for name in names:
        if name in _IG_RULES:
            raise ValueError(f"{name!r} is an integration rule of integrated_gradients, not "
                             f"a method: {arg}= (and its alias method=) names the methods "
                             f"to run; pass the rule as integrated_gradients="
                             f"{{'method': {name!r}}}")
    if not names:
        raise ValueError(f"{arg} is empty; name at least one (see xattrib.methods.METHODS)")
    if len(set(names)) != len(names):
        raise ValueError(f"{arg} has duplicates: {list(names)}")
    return [get_method(name) for name in names]


#: attribute's methods when none are named
DEFAULT_METHODS = ("integrated_gradients", "gradient")


def method_keyword(key: str) -> bool:
    """Whether ``key`` may be passed on to methods: a method's name or one's parameter."""
    return key in METHODS or any(m.accepts(key) for m in METHODS.values())


def _split_params(methods: list[Method], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``integrated_gradients={...}`` goes to that method; a plain ``n_steps=`` to every
    method that has such a parameter (an error if none has)."""
    per: dict[str, dict[str, Any]] = {m.name: {} for m in methods}
    for key, value in params.items():
        if key in METHODS:
            if key not in per:
                raise ValueError(f"parameters given for {key!r}, which is not in methods")
            per[key].update(value)
            continue
        takers = [m.name for m in methods if m.accepts(key)]
        if not takers:
            raise TypeError(f"no chosen method has a parameter {key!r}; parameters: "
                            + "; ".join(f"{m.name}: {sorted(m.defaults) or 'none'}"
                                        for m in methods))
        for name in takers:
            per[name][key] = value
    return {m.name: m.params(per[m.name]) for m in methods}


def as_input_dataset(ds: Any, model: Any, x: str | None) -> xr.Dataset:
    """The data to explain as a Dataset: a DataArray is the model's (single) input."""
    if isinstance(model, xr.Dataset | xr.DataArray) and not isinstance(
            ds, xr.Dataset | xr.DataArray):
        raise TypeError("the data come first and the model second, e.g. "
                        "xattrib.attribute(ds, model, ...) or xattrib.trim(ds, model, ...); "
                        f"got {type(ds).__name__} then {type(model).__name__}")
    require_xarray(ds, "ds", "a Dataset (or a DataArray of the model's input)")
    if isinstance(ds, xr.Dataset):
        return ds
    names = model.input_names(x)
    if len(names) > 1:
        raise ValueError(f"the model reads variables {names}; pass a Dataset with them")
    return ds.to_dataset(name=names[0])


def sample_first(da: xr.DataArray, sample_dim: str | None = None) -> xr.DataArray:
    """``da`` as ``(sample, lat, lon)``: exactly one dimension besides the spatial ones
    (``sample_dim``, checked, when given)."""
    sdims = find_latlon(da).dims  # the data's own names for them
    if sample_dim is not None:
        sample_dim_of(da, sample_dim, what=f"variable {da.name!r}")
    others = [dim for dim in da.dims if dim not in sdims]
    if len(others) != 1:
        raise ValueError(f"{da.name!r} must have one sample dimension besides its spatial "
                         f"dims {sdims}; got dims {da.dims}. Stack or select the extra "
                         "dims first")
    return da.transpose(others[0], *sdims)


def baseline_for(baseline: Any, ds: xr.Dataset, model: Model, chosen: list[Method],
                 per_params: dict[str, dict[str, Any]], seed: int, sample_dim: str
                 ) -> Baseline:
    """The resolved baseline, checked against every chosen method."""
    n_bg = max([p.get("n_background", 100) for p in per_params.values()], default=100)
    base = resolve_baseline(baseline, ds, model, n_background=n_bg, seed=seed,
                            sample_dim=sample_dim)
    for m in chosen:
        why = base.for_method(m)
        if why:
            raise ValueError(why)
    return base


def _in_task(kernel: Any, *args: Any, **kw: Any) -> Any:
    """``kernel`` on this task's share of the cores (torch and BLAS threads)."""
    with task_threads():
        return kernel(*args, **kw)


def run_methods(kernel: Any, grid: Any, objects: list[Any], width: int, chosen: list[Method],
                per_params: dict[str, dict[str, Any]], base: Baseline,
                batch_size: int | None, progress: bool, **common: Any) -> Any:
    """``(method, sample, width)``: ``kernel(grid rows, per-sample baseline rows, sample
    index, *objects, **kw)`` for every method, lazily per sample chunk of a dask ``grid``
    (each object, e.g. the model, one graph key that travels to a worker once) or into
    one numpy array (every method writes its slice: no stacking copy).

    ``common`` values are passed to every call; a callable ``want_prediction(i)`` says
    which method returns the prediction.
    """
    n = grid.shape[0]
    lazy = not isinstance(grid, np.ndarray)
    keys = [dask.delayed(o, pure=False) for o in objects] if lazy else objects
    want = common.pop("want_prediction")
    outs = []
    if not lazy:
        packed = np.empty((len(chosen), n, width), np.float32)
    for i, m in enumerate(chosen):
        p = per_params[m.name]
        bg = base.background
        if bg is not None and m.baseline == "distribution":
            bg = bg[: int(p.get("n_background") or bg.shape[0])]
        budget = _MAX_ROWS * (4 if m.forward_only else 1)  # no activations kept for backward
        batch = int(batch_size or max(1, budget // m.expansion(p)))
        kw = {"method": m.name, "params": p, "fixed": base.fixed, "background": bg,
              "batch": batch, "want_prediction": want(i), **common}
        ps = base.per_sample if m.baseline == "single" else None
        if lazy:
            args: list[Any] = [grid, "ij"]
            if ps is not None:
                args += [dsa.asarray(ps.data).rechunk({0: grid.chunks[0], 1: -1}), "ik"]
            else:
                args += [None, None]
            args += [dsa.arange(n, chunks=grid.chunks[0]), "i"]
            for key in keys:
                args += [key, None]
            outs.append(dsa.blockwise(
                functools.partial(_in_task, kernel), "ij", *args, adjust_chunks={"j": width},
                concatenate=True, dtype=np.float32, meta=np.empty((0, 0), np.float32), **kw))
        else:
            _in_task(kernel, grid, None if ps is None else np.asarray(ps.values), np.arange(n),
                     *objects, progress=progress, out=packed[i], **kw)
    return dsa.stack(outs) if lazy else packed


def attribute(
    ds: xr.Dataset | xr.DataArray,
    model: Model | Ensemble,
    methods: list[str] | tuple[str, ...] | str = DEFAULT_METHODS,
    baseline: Any = "zero",
    x: str | None = None,
    batch_size: int | None = None,
    device: Any = None,
    progress: bool = True,
    seed: int = 0,
    prediction: bool = True,
    output: int | str | None = None,
    sample_dim: str | None = None,
    groups: xr.DataArray | None = None,
    **params: Any,
) -> xr.Dataset:
    """Attribution heatmaps of ``model`` for every sample of ``ds``, one per method.

    Parameters
    ----------
    ds : Dataset or DataArray
        The model's input variable(s) ``(sample, lat, lon)`` on its grid (numpy or dask;
        lazy stays lazy): ``x`` for networks xattrib trains (``x=`` names another), the
        variables of :meth:`xattrib.Model.from_module` otherwise. A DataArray is the
        model's (single) input. The sample dimension
        may have any name (``time``...); the output keeps it.
    model : Model
        A trained :class:`xattrib.Model` or a wrapped module (:meth:`Model.from_module`);
        attributions explain its raw-unit output.
    methods : list of str
        Registry names (``xattrib.methods.METHODS``): gradient, smoothgrad,
        input_x_gradient, integrated_gradients, deeplift, deepshap, gradientshap, lrp_z,
        lrp_epsilon, lrp_alpha1beta0, lrp_composite, occlusion, shapley_sampling.
    baseline : see :func:`resolve_baseline`
        The same vocabulary as the benchmark's ``truth``: ``"zero"`` answers the same
        question as a zero-baseline truth, ``"expectation"`` as an expectation truth.
    batch_size : int, optional
        Samples per captum call; default bounded so each call runs ≤ 2048 forward rows.
    device : str, optional
        Default CUDA when available.
    progress : bool
        Progress bars for eager (numpy-backed) input.
    seed : int
        Seeds random parts: the 'expectation' background, and the noise of smoothgrad,
        gradientshap and shapley_sampling, per batch from the seed and the batch's first
        sample index. Same seed and chunking, same maps, on any scheduler; the global
        random state of torch and numpy is left untouched.
    prediction : bool
        Also return the model's ``prediction`` (scoring one-signed methods needs it). It is
        read from a forward pass a chosen method makes anyway (complete methods evaluate
        f(x) for their completeness error; ``gradient`` and ``input_x_gradient`` evaluate
        it in their own pass); otherwise it costs one extra forward pass per batch.
    output : int or str, optional
        For a multi-output model, the output to explain; by default every output, along
        an ``output`` dimension.
    sample_dim : str, optional
        The sample dimension of ``ds`` (any name; found by itself when it is the only
        dimension besides latitude and longitude).
    **params
        Method parameters: ``n_steps=128`` (to every method that has it) or
        ``integrated_gradients={"n_steps": 128}`` (to one).

    Returns
    -------
    Dataset
        ``attribution(xai_method, sample, lat, lon)`` (NaN on invalid cells; for a model of
        several variables, ``attribution_<variable>`` for each, in its own units),
        ``completeness_error(xai_method, sample)`` = Σ attribution − (f(x) − f(baseline)) for
        complete methods (NaN otherwise), ``prediction(sample)`` (unless
        ``prediction=False``).

    Examples
    --------
    >>> import xattrib
    >>> bench = xattrib.benchmark(n_samples=2000, response="linear", chunks=1000)
    >>> model = xattrib.fit(bench, epochs=2, hidden=(16,), progress=False, fresh=False)
    >>> heat = xattrib.attribute(bench.isel(sample=slice(0, 10)), model,
    ...                          methods=["gradient", "integrated_gradients"], progress=False)
    >>> heat["attribution"].dims
    ('xai_method', 'sample', 'lat', 'lon')
    >>> err = abs(heat["completeness_error"].sel(xai_method="integrated_gradients")).max()
    >>> bool(err < 1e-2 * abs(heat["prediction"]).max())  # IG sums to f(x) - f(baseline)
    True
    """
    methods = take_alias(params, "method", "methods", methods, DEFAULT_METHODS)
    own_keyword_hint(attribute, params, known=method_keyword)
    if isinstance(model, Ensemble):  # one map per member, along ``member``
        return model.stack([attribute(
            ds, m, methods, baseline, x, batch_size, device, progress, seed, prediction,
            output, sample_dim, groups, **params) for m in model])
    if groups is not None:
        return _attribute_groups(ds, model, groups, methods=methods, baseline=baseline, x=x,
                                 batch_size=batch_size, device=device, progress=progress,
                                 seed=seed, prediction=prediction, output=output,
                                 sample_dim=sample_dim, **params)
    ds = as_input_dataset(ds, model, x)
    methods = method_names(methods)
    chosen = choose_methods(methods, "methods")
    per_params = _split_params(chosen, params)
    if output is None and len(model.outputs) > 1:  # every output, along an output dim
        kw = dict(methods=methods, baseline=baseline, x=x, batch_size=batch_size,
                  device=device, progress=progress, seed=seed, prediction=prediction,
                  sample_dim=sample_dim)
        parts = [attribute(ds, model, output=o, **kw, **params) for o in model.outputs]
        per_output = [v for v in parts[0].data_vars if v not in ("mask", "cell_area")]
        every = xr.concat(parts, dim=xr.Variable("output", list(model.outputs),
                                                 {"long_name": "network output"}),
                          data_vars=per_output, coords="minimal", compat="override")
        every.attrs.pop("xattrib_output", None)  # one per output: the output dimension
        return every
    k = model.output_index(output)
    names = model.input_names(x)
    cells = model.cells
    arrays = [sample_first(a, sample_dim) for a in model.inputs(ds, x)]  # on the model's grid
    da = arrays[0]
    sample_dim = str(da.dims[0])
    n, size = da.shape[0], cells.shape[0] * cells.shape[1]
    base = baseline_for(baseline, ds, model, chosen, per_params, seed, sample_dim)
    lazy = any(a.chunks is not None for a in arrays)
    if lazy:
        parts_ = [dsa.asarray(a.data).rechunk({1: -1, 2: -1}).reshape(n, size) for a in arrays]
        grid = parts_[0] if len(parts_) == 1 else dsa.concatenate(parts_, axis=1).rechunk(
            {1: -1})
    else:
        parts_np = [np.asarray(a.values).reshape(n, size) for a in arrays]
        grid = parts_np[0] if len(parts_np) == 1 else np.concatenate(parts_np, axis=1)
    size = grid.shape[1]  # every variable's grid, end to end
    # the prediction comes from the method that computes f(x) anyway (complete methods for
    # their completeness error, gradients in their own forward pass); else one extra pass
    pred_from = None
    if prediction:
        pred_from = min(range(len(chosen)), key=lambda i: not (
            chosen[i].complete or chosen[i].forward_is_prediction))
    packed = run_methods(_kernel, grid, [model], size + 2, chosen, per_params, base,
                         batch_size, progress, device=resolve_device(device),
                         seed=int(seed), output_index=k,
                         want_prediction=lambda i: i == pred_from)
    heat = packed[..., :size].reshape(len(chosen), n, len(names), *cells.shape)
    pred = None if pred_from is None else packed[pred_from, :, size + 1].astype(np.float64)
    out = _assemble(ds, da, model, chosen, per_params, base, heat, packed[..., size], pred,
                    names, model.output_units(k))
    if len(model.outputs) > 1:  # which output these maps explain (evaluate re-runs it)
        out.attrs["xattrib_output"] = str(model.outputs[k])
    return out


def _attribute_groups(ds: Any, model: Model, groups: xr.DataArray, **kw: Any) -> xr.Dataset:
    """Attribution to groups of cells: perturbation methods remove a whole group at once
    (captum's ``feature_mask``; each cell holds an equal share), the others' cell maps are
    summed per group. The output's group dimension is named as the label map (``group`` if
    unnamed) with its label values, so ``truth.groupby(labels).sum()`` lines up with it."""
    if len(model.variables) > 1:
        raise ValueError("groups apply to a model of one input variable")
    ids, values = group_ids(groups, model.cells, "groups")
    dim = str(groups.name) if isinstance(groups.name, str) and groups.name not in (
        "mask", "attribution") else GROUP_DIM
    methods = kw.pop("methods")
    chosen = choose_methods(methods, "methods")
    params = {k: v for k, v in kw.items() if k not in _ATTRIBUTE_KEYS}
    kw = {k: v for k, v in kw.items() if k in _ATTRIBUTE_KEYS}
    per = _split_params(chosen, params)
    for m in chosen:  # the perturbation methods' feature mask: the groups
        if "patch" in m.defaults:
            per[m.name] = {**per[m.name], "_groups": ids}
    method_params: dict[str, Any] = {m.name: per[m.name] for m in chosen}
    heat = attribute(ds, model, [m.name for m in chosen], **kw, **method_params)
    onehot = np.zeros((model.cells.n_cells, values.size))
    onehot[np.arange(ids.size), ids] = 1.0
    stacked = model.cells.stack(heat["attribution"])
    summed = xr.apply_ufunc(
        lambda a: np.einsum("...c,cg->...g", np.nan_to_num(a.astype(np.float64)), onehot),
        stacked, input_core_dims=[["cell"]], output_core_dims=[[dim]], dask="parallelized",
        output_dtypes=[np.float64], dask_gufunc_kwargs={"output_sizes": {dim: values.size}})
    attrs = dict(heat["attribution"].attrs, long_name="attribution of the network prediction "
                 "to each group of cells", groups_from=str(groups.attrs.get(
                     "long_name", groups.name or "a label map")), group_dim=dim)
    for m in chosen:
        key = f"parameters_{m.name}"
        if key in attrs and "patch" in m.defaults:
            attrs[key] = ", ".join(p for p in str(attrs[key]).split(", ")
                                   if not p.startswith(("patch=", "_groups="))) + \
                ", groups=removed whole"
    out = heat.drop_vars("attribution").assign(
        attribution=summed.assign_attrs(attrs))
    out = out.assign_coords({dim: (dim, values, {"long_name": "group label"})})
    out["group_map"] = groups.where(model.cells.mask).assign_attrs(
        long_name="the group of each valid cell", units="1")
    return out


#: attribute's own keywords (the rest are methods' parameters)
_ATTRIBUTE_KEYS = ("baseline", "x", "batch_size", "device", "progress", "seed", "prediction",
                   "output", "sample_dim")


def _assemble(ds: xr.Dataset, da: xr.DataArray, model: Model, chosen: list[Method],
              per_params: dict[str, dict[str, Any]], base: Baseline, attr: Any,
              completeness: Any, pred: Any, variables: list[str],
              output_units: str | None = None) -> xr.Dataset:
    # one Dataset constructor over plain Variables: the pieces share their coordinates by
    # construction, so nothing needs aligning (item-by-item assignment re-aligned indexes
    # on every step, a fixed cost comparable to the data movement of 10⁴ gradients)
    cells = model.cells
    sample_dim = str(da.dims[0])
    spatial = cells.spatial.dims
    one = len(variables) == 1
    data_vars: dict[str, xr.Variable] = {}
    for i, v in enumerate(variables):
        attrs = heat_attrs(
            ds, v, model, chosen, per_params, base.kind,
            "attribution of the network prediction to each grid cell" + (
                "" if one else f" of {v}"), output_units=output_units)
        if not one:
            attrs["input_variable"] = v
        data_vars["attribution" if one else f"attribution_{v}"] = xr.Variable(
            (METHOD_DIM, sample_dim, *spatial), attr[:, :, i], attrs)
    data_vars.update(per_sample_vars(
        ds, sample_dim, completeness, pred,
        "sum of attributions (over every input variable) minus (f(x) - f(baseline))",
        output_units))
    data_vars["mask"] = cells.mask.variable
    if "cell_area" in ds and set(ds["cell_area"].dims) == set(spatial):
        data_vars["cell_area"] = ds["cell_area"].variable.transpose(*spatial)
    coords: dict[str, Any] = {
        **method_coords(chosen), **{str(c): cells.mask[c].variable for c in cells.mask.coords},
        **sample_coord(da, sample_dim)}
    attrs = global_attrs(ds, model, base.kind, "xattrib attribution heatmaps",
                         **({} if one else {"xattrib_input_variables": " ".join(variables)}))
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
