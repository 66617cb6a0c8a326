"""``evaluate()``: GT-free metrics of heatmaps, lazily per sample chunk.

The heatmaps, the inputs and the model's valid cells are stacked once; every chunk of
samples runs every probe of :mod:`xattrib.gtfree_metrics` on every method, batched in torch (many
perturbations of many samples in one forward pass) on the chosen device. Methods are re-run
with the parameters recorded in the heatmaps' attributes (robustness, randomisation);
hand-made maps (labels that are not registered methods) get the metrics that do not need
that, and NaN, with a note in the variable's attributes, for those that do.
"""

from __future__ import annotations

import ast
import contextlib
import math
from typing import Any

import numpy as np
import xarray as xr

from ..attribution.engine import (
    as_input_dataset,
    free_names,
    method_run_params,
    per_member,
    per_output,
    resolve_baseline,
    run_method_batch,
    seeded_global_rngs,
)
from ..dims import METHOD_DIM, same_samples, sample_dim_of
from ..grid import find_latlon, require_xarray
from ..gtfree_metrics import GTFREE_METRICS, gtfree_metric_names
from ..gtfree_metrics.base import Batch, CannotRerun, positive_count
from ..io import restore
from ..methods import METHODS
from ..parallel import task_threads
from ..registry import own_keyword_hint, take_alias
from ..training import Ensemble, Model
from ..training.model import resolve_device

__all__ = ["evaluate", "recorded_params"]

#: tensor elements per perturbed batch (rows × cells): sizes the sample sub-batches
_BUDGET = 2**24
_METRIC_DIM = "gtfree_metric"


def recorded_params(heat: Any, method: str) -> dict[str, Any]:
    """The parameters ``attribute`` wrote for ``method`` (``parameters_<method>`` of the
    heatmaps, a DataArray or its attributes), parsed back: ``"n_steps=64,
    method=gausslegendre"`` → ``{"n_steps": 64, "method": ...}``."""
    attrs = heat.attrs if hasattr(heat, "attrs") else heat
    text = str(attrs.get(f"parameters_{method}", "none"))
    if text in ("none", ""):
        return {}
    out: dict[str, Any] = {}
    for part in text.split(", "):
        key, _, value = part.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def _heat_parts(heat: xr.Dataset | xr.DataArray, model: Model) -> list[xr.DataArray]:
    """The heatmaps of each input variable of ``model``, in its order (one for one)."""
    if len(model.variables) == 1:
        return [heat["attribution"] if isinstance(heat, xr.Dataset) else heat]
    names = [f"attribution_{v}" for v in model.variables]
    if not isinstance(heat, xr.Dataset) or any(n not in heat for n in names):
        raise ValueError(f"the model reads {len(model.variables)} variables "
                         f"{model.variables}: pass attribute's Dataset, with {names}")
    return [heat[n] for n in names]


def _explainer(name: str, heat: Any, model: Model, dev: Any, seed: int,
               output: int = 0) -> Any:
    """``explain(x, base, net=None)`` re-running registered method ``name`` with its recorded
    parameters, or None for a hand-made map (or a method needing a background)."""
    if name not in METHODS:
        return None
    m = METHODS.get(name)
    if m.baseline == "distribution":
        return None
    params = m.params({k: v for k, v in recorded_params(heat, name).items()
                       if k in m.defaults})
    run_params = method_run_params(m, params, model, dev)
    rows = max(1, 2**16 // max(1, m.expansion(params)))

    def explain(x: Any, base: Any, net: Any = None) -> Any:
        import torch

        net = net if net is not None else model.network(dev, private=True, output=output)
        parts = []
        for s in range(0, x.shape[0], rows):
            xb = x[s:s + rows].detach().float().clone()
            bb = base[s:s + rows].detach().float()
            with seeded_global_rngs(seed, s, dev) if m.random else contextlib.nullcontext():
                a, _ = run_method_batch(m, net, xb, bb, None, run_params, False)
            parts.append(a.detach())
        return torch.cat(parts).to(x.device)

    return explain


def _block(x: np.ndarray, a: np.ndarray, index: np.ndarray, std: np.ndarray, base: np.ndarray,
           *, model: Model, heat_attrs: dict[str, Any], labels: list[str],
           explainers: dict[str, Any], output: int, names: list[str],
           params: dict[str, dict[str, Any]], w: np.ndarray, neighbours: np.ndarray,
           device: Any, seed: int, batch_size: int | None) -> np.ndarray:
    """``(n, M, Q)`` metric values for a block: ``x`` (n, d), ``a`` (n, M, d),
    ``index`` (n,), ``std`` (d,), ``base`` (d,)."""
    import torch


    n, d = x.shape
    out = np.full((n, len(labels), len(names)), np.nan)
    if n == 0:
        return out
    # one torch thread per task: the forward passes are many small products (one sample's
    # perturbations each), where intra-op threads only spin; dask runs chunks in parallel
    with task_threads(1):
        dev = resolve_device(device)
        # the maps alone (sparseness, complexity) need no network: no private copy of it
        maps_only = all(GTFREE_METRICS.get(q).needs == "map" for q in names)
        net = None if maps_only else model.network(dev, private=True, output=output)
        if net is not None:
            dev = next(net.parameters()).device

        def f(rows: Any) -> Any:
            assert net is not None  # a probe that needs the model
            with torch.no_grad():
                return torch.cat([net(rows[s:s + 2**15].float()).squeeze(1).double()
                                  for s in range(0, rows.shape[0], 2**15)])

        wt = torch.as_tensor(w, device=dev)
        st = torch.as_tensor(np.asarray(std, np.float32), device=dev)
        nb = torch.as_tensor(neighbours, device=dev)
        xt = torch.as_tensor(np.ascontiguousarray(x, np.float32), device=dev)
        bt = torch.as_tensor(np.asarray(base, np.float32), device=dev).expand(n, d)
        widest = max(GTFREE_METRICS.get(q).expansion(params[q]) for q in names)
        rows = int(batch_size or max(1, _BUDGET // (d * max(1, widest))))
        for j, label in enumerate(labels):
            explain = None if maps_only else (
                _given(explainers[label], dev) if label in explainers else
                _explainer(label, heat_attrs, model, dev, seed, output))
            at = torch.as_tensor(np.ascontiguousarray(a[:, j], np.float32), device=dev)
            for s in range(0, n, rows):
                sl = slice(s, min(s + rows, n))
                k = sl.stop - sl.start
                b = Batch(x=xt[sl], a=at[sl], base=bt[sl], w=wt, std=st, index=index[sl],
                          seed=seed, neighbours=nb, f=_per_sample(f, k),
                          explain=None if explain is None else _per_sample(explain, k),
                          net=net, output=output, n_outputs=len(model.outputs),
                          output_net=lambda j: model.network(dev, private=True, output=j))
                for q, name in enumerate(names):
                    try:
                        v = GTFREE_METRICS.get(name).kernel(b, **params[name])
                    except CannotRerun:
                        continue
                    out[sl, j, q] = np.asarray(v.detach().cpu().numpy() if hasattr(
                        v, "detach") else v, float)
    return out


def _given(fn: Any, dev: Any) -> Any:
    """A user's ``explain(x, base, net)`` as the probes call it: tensors on ``dev`` back."""
    import torch

    def explain(x: Any, base: Any, net: Any = None) -> Any:
        out = fn(x, base, net)
        return torch.as_tensor(np.asarray(out.detach().cpu() if hasattr(out, "detach")
                                          else out, np.float32)).to(dev)

    return explain


def _per_sample(fn: Any, n: int) -> Any:
    """``fn`` applied to each sample's rows on their own (rows come grouped by sample, the
    same number per sample): a batch's composition then never depends on how samples were
    chunked, so neither do the floating-point results (a matrix product's rounding can
    depend on its number of rows and on the memory alignment of its input)."""
    import torch

    def call(rows: Any, *args: Any, **kw: Any) -> Any:
        k = rows.shape[0] // n if rows.shape[0] % n == 0 else rows.shape[0]
        def part(a: Any, s: int) -> Any:  # row-aligned tensors are split; others passed on
            rowwise = getattr(a, "shape", None) and a.shape[0] == rows.shape[0]
            # a fresh (aligned) copy: BLAS kernels round differently at other alignments
            return a[s:s + k].clone() if rowwise else a

        return torch.cat([fn(part(rows, s), *(part(a, s) for a in args), **kw)
                          for s in range(0, rows.shape[0], k)])
    return call


def _std(model: Model, ds: xr.Dataset, xs: xr.DataArray, sample_dim: str,
         std: Any) -> tuple[Any, str]:
    """Each cell's standard deviation (perturbation scale) and where it came from."""
    if std is not None:
        arr = np.asarray(std, float)
        d = model.cells.n_cells * len(model.variables)
        if arr.shape != (d,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"std must hold one finite value per valid cell (of each input "
                             f"variable, in turn: {d}), got shape {arr.shape}")
        return arr, "user-supplied"
    if model.trained_by_xattrib:
        return np.asarray(model.x_std, float), "the network's training standard deviation"
    if "covariance" in ds:
        return np.sqrt(np.diag(np.asarray(ds["covariance"].values, float))), \
            "the benchmark's covariance (its diagonal)"
    if xs.sizes[sample_dim] < 2:
        raise ValueError("the perturbation scale (each cell's std) needs at least 2 samples "
                         "or std=; pass std= (one value per valid cell)")
    return xs.std(sample_dim).data, "the inputs' standard deviation over samples"


def evaluate(
    heat: xr.Dataset | xr.DataArray,
    model: Model | Ensemble,
    ds: xr.Dataset | xr.DataArray,
    metrics: list[str] | tuple[str, ...] | str | None = None,
    baseline: Any = None,
    weights: Any = "area",
    seed: int = 0,
    std: Any = None,
    device: Any = None,
    batch_size: int | None = None,
    x: str | None = None,
    sample_dim: str | None = None,
    explainers: dict[str, Any] | None = None,
    output: int | str | None = None,
    **params: Any,
) -> xr.Dataset:
    """GT-free metrics of heatmaps: one variable per metric over ``(xai_method, sample)``.

    Parameters
    ----------
    heat : Dataset or DataArray
        ``attribute``'s output, or any ``attribution`` DataArray over (xai_method, sample,
        lat, lon) on the model's grid — a user's own maps from another library too. Labels
        that are not registered methods cannot be re-run: robustness and randomisation
        metrics are NaN for them (said in the variable's ``not_computed`` attribute).
    model : Model
        The network the maps explain. A model of several input variables takes
        ``attribute``'s Dataset (``attribution_<v>`` for each); its cells are perturbed,
        ranked and summed across all variables together (each variable's cells weighing
        as in its own map; neighbours stay within a variable).
    ds : Dataset or DataArray
        The inputs, over the same samples as ``heat``.
    metrics : list of str, optional
        Names from :data:`xattrib.gtfree_metrics.GTFREE_METRICS` (default: all).
    baseline : optional
        What "removed" cells are set to, in xattrib's baseline vocabulary (default: the
        heatmaps' own baseline, else ``"zero"`` = climatology for anomalies). One field for
        every sample (zero, mean, a number or a field).
    weights : "area" or None
        Cell weights where cells are drawn, ordered by area or summed (None: uniform).
    seed : int
        Seeds every random draw, per metric and global sample index (chunk-invariant).
    std : array, optional
        Each valid cell's standard deviation (the perturbation scale). Default: the network's
        training std, a benchmark's covariance diagonal, or the inputs' std over samples.
    device : str or torch.device, optional
        Default CUDA when available.
    batch_size : int, optional
        Samples per perturbed batch (default: sized to about 16 M tensor elements).
    explainers : dict, optional
        How to re-run maps that no registered method made — your own method, another
        library's — so the robustness and randomisation metrics can score them too:
        ``{label: explain}`` with ``explain(x, base, net)`` taking torch tensors ``(n, C·d)``
        of inputs and baselines on the model's valid cells (each variable's cells in turn,
        raw units) and the torch network to explain (``None``: the model's own; MPRT passes
        randomised copies), returning the ``(n, C·d)`` attributions (tensor or array).
    output : int or str, optional
        For a model of several outputs, the output the maps explain: by default the one
        ``attribute`` recorded (``xattrib_output``), or every output along the heatmaps'
        ``output`` dimension (each scored with its own output's network).
    **params
        A metric's parameters, as ``faithfulness_correlation={"n_runs": 50}`` (recorded in
        the output's attributes with the defaults).

    Returns
    -------
    Dataset
        Lazy for dask input. Attributes per variable: ``long_name``, ``units``,
        ``higher_is_better`` (1/0), ``family``, ``parameters``, ``reference``.

    Examples
    --------
    >>> import xattrib
    >>> bench = xattrib.benchmark(n_samples=8, seed=0, response="linear")
    >>> exact = xattrib.Model.exact(bench)
    >>> heat = xattrib.attribute(bench, exact, methods="integrated_gradients", progress=False)
    >>> q = evaluate(heat, exact, bench, metrics=["faithfulness_correlation", "sparseness"])
    >>> round(float(q["faithfulness_correlation"].min()), 6)
    1.0
    """
    metrics = take_alias(params, "metric", "metrics", metrics, None)
    own_keyword_hint(evaluate, params, known=lambda k: k in GTFREE_METRICS)
    heat, ds = _readable(heat, ds, model, output, x)
    kw = dict(metrics=metrics, baseline=baseline, weights=weights, seed=seed, std=std, x=x,
              device=device, batch_size=batch_size, sample_dim=sample_dim, explainers=explainers)
    if isinstance(model, Ensemble):  # each member's maps (or the same maps) with its model
        return per_member(model, lambda m, h: evaluate(h, m, ds, output=output, **kw,
                                                        **params), heat)[0]
    if not isinstance(model, Model):
        raise TypeError("model must be an xattrib Model (xattrib.fit, Model.exact, Model."
                        f"from_module) or an Ensemble, got {type(model).__name__}")
    if "output" in heat.dims:  # every output's maps, each with its own output's network
        if output is not None:
            return evaluate(heat.sel(output=model.outputs[model.output_index(output)]),
                            model, ds, output=output, **kw, **params)
        return per_output([str(v) for v in heat["output"].values], lambda o: evaluate(
            heat.sel(output=o), model, ds, output=o, **kw, **params))
    return _evaluate(heat, model, ds, output=output, params=params, **kw)


def _readable(heat: Any, ds: Any, model: Any, output: Any, x: str | None
              ) -> tuple[Any, Any]:
    """The maps and inputs as xattrib made them (files re-opened with plain xarray are
    labelled again), with no dimension named as one the results add."""
    require_xarray(heat, "heat", "heatmaps (attribute's Dataset or an attribution DataArray)")
    heat, ds = restore(heat), restore(ds)
    free_names(ds, model, output, x)
    return heat, ds


def _evaluate(heat: Any, model: Model, ds: Any, metrics: Any, baseline: Any, weights: Any,
              seed: int, std: Any, device: Any, batch_size: int | None, x: str | None,
              sample_dim: str | None, explainers: Any, output: Any,
              params: dict[str, Any]) -> xr.Dataset:
    """:func:`evaluate` for one model and one output's maps: its steps, named."""
    out_k = model.output_index(output if output is not None else (
        heat.attrs.get("xattrib_output") if len(model.outputs) > 1 else None))
    parts = _heat_parts(heat, model)
    da = _with_methods(parts[0])
    labels = [str(v) for v in da[METHOD_DIM].values]
    explainers = _checked_explainers(explainers)
    names = _runnable_metrics(metrics, model, labels, explainers)
    per = _params(names, params)
    if not _on_grid(da):
        return _evaluate_features(_feature_maps(da, parts), names, per, sample_dim)
    inputs = as_input_dataset(ds, model, x)
    xs, hs, sdim = _stacked(inputs, parts, da, model, x, sample_dim, names, per)
    resolved = _fixed_baseline(baseline, da, inputs, model, sdim)
    stdv, std_from = _std(model, inputs, xs, sdim, std)
    res, split = _run(xs, hs, sdim, stdv, resolved.fixed, len(names), {
        "model": model, "heat_attrs": dict(da.attrs), "labels": labels,
        "explainers": explainers, "output": out_k, "names": names, "params": per,
        "w": _cell_weights(weights, model),
        "neighbours": model.cells.neighbours(len(model.variables)),
        "device": device, "seed": int(seed), "batch_size": batch_size})
    out = _assemble(res, da, names, per, labels, explainers, sdim)
    out.attrs.update({
        "title": "xattrib GT-free metrics of attributions",
        "baseline": str(resolved.kind), "weights": "cell area" if weights else "uniform",
        "seed": int(seed), "perturbation_scale": std_from,
        **{k: v for k, v in (heat.attrs if isinstance(heat, xr.Dataset) else {}).items()
           if k.startswith("xattrib_")}})
    return out.compute() if split else out


def _with_methods(da: xr.DataArray) -> xr.DataArray:
    """Maps along ``xai_method`` (a single map gets its name as its label)."""
    if METHOD_DIM not in da.dims:
        da = da.expand_dims({METHOD_DIM: [str(da.name or "map")]})
    return da


def _checked_explainers(explainers: Any) -> dict[str, Any]:
    explainers = dict(explainers or {})
    if not all(callable(f) for f in explainers.values()):
        raise TypeError("explainers must map labels to callables explain(x, base, net)")
    return explainers


def _runnable_metrics(metrics: Any, model: Model, labels: list[str],
                      explainers: dict[str, Any]) -> list[str]:
    """The metrics to compute: those asked for (default all that apply to the model); on
    maps no method can re-make, the metrics that re-run one are left out (by default) or
    refused (when named)."""
    names = gtfree_metric_names(metrics, model.outputs)
    if any(_explainer_possible(lab) or lab in explainers for lab in labels):
        return names
    rerun = [n for n in names if GTFREE_METRICS.get(n).needs == "method"]
    if metrics is None:  # all by default: those that can run on hand-made maps
        return [n for n in names if n not in rerun]
    if rerun:
        raise ValueError(
            f"{rerun} re-run the attribution method, but none of the maps {labels} was "
            "made by a registered method with one baseline input (hand-made maps, or "
            "another library's); drop those metrics, or pass heatmaps from "
            "xattrib.attribute")
    return names


def _on_grid(da: xr.DataArray) -> bool:
    try:
        find_latlon(da)
    except ValueError:
        return False
    return True


def _feature_maps(da: xr.DataArray, parts: list[xr.DataArray]) -> xr.DataArray:
    """TRIM results: several variables' groups as one map of all of them, as several
    variables' grid cells are one map."""
    if len(parts) == 1:
        return da
    gdim = str(parts[0].dims[-1])
    da = xr.concat([p.drop_vars([c for c in p.coords if gdim in p[c].dims])
                    for p in parts], dim=gdim)
    if getattr(da.data, "chunks", None) is not None:
        da = da.chunk({gdim: -1})
    return _with_methods(da)


def _stacked(inputs: xr.Dataset, parts: list[xr.DataArray], da: xr.DataArray, model: Model,
             x: str | None, sample_dim: str | None, names: list[str],
             per: dict[str, dict[str, Any]]) -> tuple[xr.DataArray, xr.DataArray, str]:
    """``(xs, hs, sample_dim)``: inputs ``(sample, cell)`` and maps ``(xai_method, sample,
    cell)`` over the valid cells (several variables: every variable's cells in turn, as the
    network reads them), checked against the model's grid, the metrics' parameters and
    each other's samples."""
    xda = model.inputs(inputs, x)[0]
    sdim = sample_dim_of(xda, sample_dim, what="the inputs")
    cells, nv = model.cells, len(model.variables)
    for part in parts:
        cells.check_grid(part, what="the heatmaps")
    for name in names:
        check = GTFREE_METRICS.get(name).check
        if check is not None:
            check(per[name], cells.n_cells * nv)
    same_samples(da, xda, sdim, "heat", "ds")
    xs = model._stack(inputs, x).transpose(sdim, "cell")
    stacked = [cells.stack(p.transpose(METHOD_DIM, sdim, *cells.spatial.dims)) for p in parts]
    stacked = [h.drop_vars([c for c in h.coords if c not in (METHOD_DIM, sdim)])
               for h in stacked]
    hs = stacked[0] if nv == 1 else xr.concat(stacked, "cell")
    xs = xs.drop_vars([c for c in xs.coords if c != sdim])
    if getattr(hs.data, "chunks", None) is not None:  # methods and cells in one chunk each
        hs = hs.chunk({METHOD_DIM: -1, "cell": -1})
    if getattr(xs.data, "chunks", None) is not None:
        xs = xs.chunk({"cell": -1})
    return xs, hs, sdim


def _fixed_baseline(baseline: Any, da: xr.DataArray, inputs: xr.Dataset, model: Model,
                    sdim: str) -> Any:
    """What removed cells are set to: the maps' own baseline unless given; one field."""
    bl = baseline if baseline is not None else da.attrs.get("baseline", "zero")
    bl = "zero" if bl in ("none", None) else bl
    resolved = resolve_baseline(bl, inputs, model, sample_dim=sdim)
    if resolved.fixed is None:
        raise ValueError(f"evaluate needs one baseline field for every sample (zero, mean, a "
                         f"number or a field); got {resolved.kind!r}")
    return resolved


def _cell_weights(weights: Any, model: Model) -> np.ndarray:
    """Each valid cell's weight (each variable's cells weigh as in its own map)."""
    cells, nv = model.cells, len(model.variables)
    if weights == "area":
        w = cells.area
    elif weights is None:
        w = np.ones(cells.n_cells)
    else:
        raise ValueError(f"weights must be 'area' or None, got {weights!r}")
    return np.tile(w / w.sum(), nv) / nv


def _run(xs: xr.DataArray, hs: xr.DataArray, sdim: str, stdv: np.ndarray, fixed: np.ndarray,
         n_metrics: int, kwargs: dict[str, Any]) -> tuple[xr.DataArray, int]:
    """``(xai_method, sample, metric)`` values, lazily per sample chunk; in-memory inputs
    are split over the cores (the values never depend on the split). Returns the split."""
    index = xr.DataArray(np.arange(xs.sizes[sdim]), dims=(sdim,))
    split = _cores_split(xs, hs, kwargs["names"], sdim)
    if split:
        xs, hs = xs.chunk({sdim: split}), hs.chunk({sdim: split, METHOD_DIM: -1, "cell": -1})
    if getattr(xs.data, "chunks", None) is not None:
        index = index.chunk({sdim: xs.data.chunks[0]})
    res = xr.apply_ufunc(
        _block, xs, hs, index,
        xr.DataArray(stdv, dims=("cell",)), xr.DataArray(fixed, dims=("cell",)),
        input_core_dims=[["cell"], [METHOD_DIM, "cell"], [], ["cell"], ["cell"]],
        output_core_dims=[[METHOD_DIM, _METRIC_DIM]], dask="parallelized",
        output_dtypes=[float], dask_gufunc_kwargs={"output_sizes": {_METRIC_DIM: n_metrics}},
        kwargs=kwargs)
    return res.transpose(METHOD_DIM, sdim, _METRIC_DIM), split


def _assemble(res: xr.DataArray, da: xr.DataArray, names: list[str],
              per: dict[str, dict[str, Any]], labels: list[str], explainers: dict[str, Any],
              sdim: str) -> xr.Dataset:
    """One variable per metric, with what it is and which maps it could not score."""
    rerun = [lab for lab in labels if _explainer_possible(lab) or lab in explainers]
    out = xr.Dataset()
    for q, name in enumerate(names):
        out[name] = res.isel({_METRIC_DIM: q}, drop=True).assign_attrs(
            _var_attrs(name, per[name], labels, rerun))
    return out.assign_coords({c: da[c] for c in da.coords
                              if set(da[c].dims) <= {METHOD_DIM, sdim}
                              and c not in out.coords})


#: fewest samples per task when evaluate splits in-memory inputs over the cores
_MIN_PER_TASK = 8


def _cores_split(xs: xr.DataArray, hs: xr.DataArray, names: list[str], sdim: str) -> int:
    """Samples per task to spread in-memory inputs over the cores (0: leave them whole:
    dask inputs are already chunked, and the maps-only metrics cost less than a task)."""
    import os

    if getattr(xs.data, "chunks", None) is not None or getattr(hs.data, "chunks", None) \
            is not None or all(GTFREE_METRICS.get(q).needs == "map" for q in names):
        return 0
    n, cores = xs.sizes[sdim], os.cpu_count() or 1
    if cores < 2 or n < 2 * _MIN_PER_TASK:
        return 0
    return max(_MIN_PER_TASK, -(-n // cores))


def _explainer_possible(label: str) -> bool:
    return label in METHODS and METHODS.get(label).baseline != "distribution"


def _params(names: list[str], params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    unknown = set(params) - set(names)
    if unknown:
        raise TypeError(f"parameters given for {sorted(unknown)}, which are not among the "
                        f"metrics {names}; pass them as metric_name={{...}}")
    out = {}
    for name in names:
        probe = GTFREE_METRICS.get(name)
        given = params.get(name, {})
        if not isinstance(given, dict):
            raise TypeError(f"{name}= must be a dict of its parameters, e.g. "
                            f"{name}={probe.defaults or {}}")
        bad = set(given) - set(probe.defaults)
        if bad:
            raise TypeError(f"metric {name!r} has no parameter(s) {sorted(bad)}; its "
                            f"parameters are {sorted(probe.defaults) or 'none'}")
        for key, value in given.items():  # counts whole and ≥ 1, scales positive
            default = probe.defaults[key]
            if isinstance(default, int) and not isinstance(default, bool):
                positive_count(f"{name} {key}", value)
            elif isinstance(default, float) and not (
                    isinstance(value, int | float) and not isinstance(value, bool)
                    and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} {key} must be a positive number, got {value!r}")
        out[name] = {**probe.defaults, **given}
    return out


def _var_attrs(name: str, p: dict[str, Any], labels: list[str], rerun: list[str]
               ) -> dict[str, Any]:
    probe = GTFREE_METRICS.get(name)
    attrs: dict[str, Any] = {
        "long_name": probe.long_name, "units": probe.units,
        "higher_is_better": int(probe.higher_is_better), "category": probe.category,
        "needs": probe.needs, "description": probe.description,
        "parameters": ", ".join(f"{k}={v}" for k, v in p.items()) or "none",
        "reference": probe.reference,
    }
    if math.isfinite(probe.ideal):
        attrs["ideal_value"] = float(probe.ideal)
    missing = [lab for lab in labels if lab not in rerun]
    if probe.needs == "method" and missing:
        attrs["not_computed"] = (f"NaN for {missing}: not registered methods (hand-made maps) "
                                 "or methods with a background; this metric re-runs the "
                                 "method")
    return attrs


def _evaluate_features(da: xr.DataArray, names: list[str], per: dict[str, dict[str, Any]],
                       sample_dim: str | None) -> xr.Dataset:
    """TRIM results (groups of transformed features): the metrics of the map alone."""
    need = [n for n in names if GTFREE_METRICS.get(n).needs != "map"]
    if need:
        raise ValueError(f"these heatmaps have no latitude/longitude (a TRIM result over "
                         f"{[d for d in da.dims if d != METHOD_DIM][-1]!r}): {need} perturb "
                         "the grid and cannot run on them; choose from "
                         f"{[n for n in GTFREE_METRICS.names() if GTFREE_METRICS.get(n).needs == 'map']}")
    fdim = da.dims[-1]
    w = np.ones(da.sizes[fdim]) / da.sizes[fdim]
    out = xr.Dataset()
    for name in names:
        probe = GTFREE_METRICS.get(name)

        def kern(a: np.ndarray, probe: Any = probe) -> np.ndarray:
            import torch

            b = Batch(x=None, a=torch.from_numpy(np.asarray(a, float).reshape(-1, a.shape[-1])),
                      base=None, w=torch.from_numpy(w), std=None, index=np.zeros(0), seed=0,
                      neighbours=None, f=lambda r: r, explain=None, net=None)
            return np.asarray(probe.kernel(b)).reshape(a.shape[:-1])

        out[name] = xr.apply_ufunc(kern, da, input_core_dims=[[fdim]], dask="parallelized",
                                   output_dtypes=[float]).assign_attrs(
            _var_attrs(name, per[name], [], []), weights=f"uniform over {fdim}")
    out.attrs["title"] = "xattrib GT-free metrics of TRIM attributions"
    return out
