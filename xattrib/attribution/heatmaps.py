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
from typing import Any

import numpy as np
import xarray as xr

from ..dims import GROUP_DIM, METHOD_DIM
from ..grid import group_ids
from ..methods import METHODS, Method
from ..registry import own_keyword_hint, take_alias
from ..training import Ensemble, Model
from ..training.model import resolve_device
from .engine import (
    DEFAULT_METHODS,
    Baseline,
    _batch_baseline,
    _gather,
    _gather_scatter,
    _split_params,
    _with_extras,
    activations_per_row,
    as_input_dataset,
    baseline_for,
    choose_methods,
    free_names,
    method_keyword,
    method_names,
    method_run_params,
    per_member,
    per_output,
    resolve_baseline,
    run_method_batch,
    run_methods,
    sample_first,
    seeded_global_rngs,
    stacked_grid,
)
from .output import (
    global_attrs,
    heat_attrs,
    method_coords,
    per_sample_vars,
    sample_coord,
)

__all__ = ["attribute", "resolve_baseline"]

#: inputs and activations (float32 values) one captum call may hold, 256 MiB
_MAX_ACTIVATIONS = 2**26


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
    free_names(ds, model, output, x)
    if isinstance(model, Ensemble):  # one map per member, along ``member``
        return per_member(model, lambda m, _: attribute(
            ds, m, methods, baseline, x, batch_size, device, progress, seed, prediction,
            output, sample_dim, groups, **params))[0]
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
        return per_output(model.outputs,
                          lambda o: attribute(ds, model, output=o, **kw, **params))
    return _attribute(ds, model, chosen, per_params, baseline, x, batch_size, device,
                      progress, seed, prediction, model.output_index(output), sample_dim)


def _attribute(ds: xr.Dataset, model: Model, chosen: list[Method],
               per_params: dict[str, dict[str, Any]], baseline: Any, x: str | None,
               batch_size: int | None, device: Any, progress: bool, seed: int,
               prediction: bool, k: int, sample_dim: str | None) -> xr.Dataset:
    """:func:`attribute` for one model and its output ``k``: run, then assemble."""
    names = model.input_names(x)
    cells = model.cells
    arrays = [sample_first(a, sample_dim) for a in model.inputs(ds, x)]  # on the model's grid
    da = arrays[0]
    sample_dim = str(da.dims[0])
    n = da.shape[0]
    base = baseline_for(baseline, ds, model, chosen, per_params, seed, sample_dim)
    grid = stacked_grid(arrays)
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
