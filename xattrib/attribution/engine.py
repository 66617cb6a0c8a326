"""What every explainer run shares: the attribution engine.

``attribute`` (heatmaps on the grid), ``trim`` (transformed spaces), ``evaluate`` and
``audit`` (GT-free metrics that re-run methods) all explain a network the same way, and
import that from here, never from each other: the baseline resolved against a model, the
methods chosen by name and their parameters split, a seeded guard for methods that draw
from torch's and numpy's global generators, the batched runner (samples in batches under a
memory bound, each batch's valid cells gathered, lazily per dask chunk with the model one
graph key) and the two fan-outs, over the members of an ensemble and over the outputs of a
network. Shaped after captum's ``attribute`` → ``_attribute`` split: the public verb checks
and stacks, :func:`run_methods` runs, the verb's own ``_assemble`` writes the Dataset.
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
from ..dims import MEMBER_DIM, METHOD_DIM, sample_dim_of
from ..generation import generator_from_dataset
from ..grid import CellIndex, find_latlon, require_xarray
from ..methods import METHODS, Method, get_method
from ..parallel import task_threads
from ..training import Ensemble, Model

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


def patch_groups(cells: CellIndex, patch: int, n_vars: int = 1) -> np.ndarray | None:
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


def method_run_params(m: Method, params: dict[str, Any], model: Model, dev: Any) -> dict[str, Any]:
    """The method's keyword arguments for one call: ``patch`` becomes a feature mask."""
    import torch

    run_params = {k: v for k, v in params.items() if k not in ("n_background", "_groups")}
    if "_groups" in params:  # attribute(groups=...): the groups replace the patches
        run_params["feature_mask"] = torch.as_tensor(params["_groups"], device=dev)[None]
    elif "patch" in params:
        groups = patch_groups(model.cells, params["patch"], len(model.variables))
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


def free_names(ds: Any, model: Any, output: Any = None, x: str | None = None) -> None:
    """Refuse input variables whose dimensions already use a name the verbs add to their
    results: ``xai_method`` and ``cell`` always, ``member`` for an ensemble, ``output`` for
    a model of several outputs explained all at once. (A sample dimension called ``member``
    is fine for one network; with an ensemble the two would be the same dimension.)"""
    if not isinstance(ds, xr.Dataset | xr.DataArray):
        return
    one = model[0] if isinstance(model, Ensemble) else model
    if isinstance(ds, xr.Dataset) and hasattr(one, "input_names"):
        dims = {str(d) for v in one.input_names(x) if v in ds for d in ds[v].dims}
    else:
        dims = set(map(str, ds.dims))
    taken = {METHOD_DIM: "methods", "cell": "valid cells"}
    if isinstance(model, Ensemble):
        taken[MEMBER_DIM] = "the ensemble's members"
    elif getattr(model, "outputs", None) is not None and len(model.outputs) > 1 \
            and output is None:
        taken["output"] = "the network's outputs"
    clash = sorted(d for d in dims if d in taken)
    if clash:
        d = clash[0]
        raise ValueError(f"the data have a dimension {d!r}, the name the results give to "
                         f"{taken[d]}; rename yours first, e.g. ds.rename({{{d!r}: "
                         f"'{d}_in'}}) (and sample_dim='{d}_in' if it holds the samples)")


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


def stacked_grid(arrays: list[xr.DataArray]) -> Any:
    """``(sample, V·ny·nx)``: each variable's ``(sample, lat, lon)`` grid flattened and put
    end to end, as a dask array (one chunk along the grid) for lazy inputs, else numpy."""
    n = arrays[0].shape[0]
    size = arrays[0].shape[1] * arrays[0].shape[2]
    if any(a.chunks is not None for a in arrays):
        lazy = [dsa.asarray(a.data).rechunk({1: -1, 2: -1}).reshape(n, size) for a in arrays]
        return lazy[0] if len(lazy) == 1 else dsa.concatenate(lazy, axis=1).rechunk({1: -1})
    eager = [np.asarray(a.values).reshape(n, size) for a in arrays]
    return eager[0] if len(eager) == 1 else np.concatenate(eager, axis=1)


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


def per_member(model: Ensemble, run: Any, heat: Any = None) -> tuple[Any, list[Any]]:
    """The ensemble fan-out, written once: ``run(member, its_heat)`` for each member of
    ``model`` (``its_heat``: ``heat``'s slice for that member when it has a ``member``
    dimension, else ``heat`` itself), stacked along ``member``; returns (stacked, parts)."""
    if heat is not None and MEMBER_DIM in heat.dims:
        have = [int(v) for v in heat[MEMBER_DIM].values] if MEMBER_DIM in heat.coords \
            else list(range(heat.sizes[MEMBER_DIM]))
        if sorted(have) != sorted(int(s) for s in model.seeds):
            raise ValueError(f"the heatmaps' members {have} are not the ensemble's "
                             f"{list(model.seeds)} (members are matched by their seed); pass "
                             "the maps this ensemble made, or select its members")

    def mine(seed: Any) -> Any:
        if heat is not None and MEMBER_DIM in heat.dims:
            return heat.sel({MEMBER_DIM: seed}, drop=True)
        return heat

    parts = [run(m, mine(s)) for s, m in zip(model.seeds, model, strict=True)]
    return model.stack(parts), parts


#: variables of the grid, the same for every output: not stacked along ``output``
_GRID_VARS = ("mask", "cell_area")


def per_output(outputs: list[str], run: Any) -> xr.Dataset:
    """The outputs fan-out, written once: ``run(output)`` for each output of a network,
    concatenated along an ``output`` dimension labelled by the outputs' names (the grid's
    own variables once)."""
    parts = [run(o) for o in outputs]
    keep = [v for v in parts[0].data_vars if v not in _GRID_VARS]
    every = xr.concat(parts, dim=xr.Variable("output", [str(o) for o in outputs],
                                             {"long_name": "network output"}),
                      data_vars=keep, coords="minimal", compat="override",
                      combine_attrs="override")
    every.attrs.pop("xattrib_output", None)  # one per output: the output dimension says it
    return every
