"""Score heatmaps against the truth, per sample over valid cells, area-weighted by default.

The metrics are a plug-in family (:mod:`xattrib.truth_metrics`); :func:`score` stacks valid cells
once and applies every metric's kernel over ``(xai_method, sample)`` with
``xr.apply_ufunc`` (lazy for dask input).

Conventions (also written into the output's attributes):

- ``pearson``: weighted Pearson r; ``spearman``: weighted Pearson r of the ranks;
  ``cosine``: weighted uncentred cosine similarity.
- ``sign_agreement``: weighted fraction of cells with sign(a) = sign(g), among cells where
  |g| ≥ ``sign_threshold`` · max|g| (cells with negligible truth have no meaningful sign).
- ``topk``: fraction of the top-k cells by |g| that are also top-k by |a| (k = ``k`` · d).
- ``relevance_mass``: share of the positive attribution a⁺ that falls on cells whose truth is
  positive (the continuous analogue of a ground-truth mask; negatives clipped explicitly);
  ``rank_accuracy``: fraction of the top-k cells of a⁺ that are top-k cells of g⁺
  (Arras et al. 2022, for continuous truth).
- ``nmae``: Σ w|a − g| / Σ w|g| — the error normalised by the truth's mean magnitude.
- ``completeness``: |Σ a − Σ g| (unweighted sums: completeness is about totals).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..dims import INPUT_VARIABLE_DIM, METHOD_DIM, TRUTH_KIND_DIM, sample_dim_of
from ..grid import CellIndex, cell_area, find_latlon, require_xarray
from ..gtfree_metrics import GTFREE_METRICS
from ..io import restore
from ..registry import take_alias
from ..truth_metrics import TRUTH_METRICS

__all__ = ["score", "score_kinds", "truth_kinds"]


def _weights(cells: CellIndex, weights: Any, like: xr.Dataset | xr.DataArray) -> np.ndarray:
    if weights is None:
        w = np.ones(cells.n_cells)
    elif isinstance(weights, str):
        if weights != "area":
            raise ValueError(f"weights must be 'area', None or a DataArray, got {weights!r}")
        area = like["cell_area"] if "cell_area" in like.coords or (
            isinstance(like, xr.Dataset) and "cell_area" in like) else cell_area(like)
        w = cells.stack(area).values
    elif isinstance(weights, xr.DataArray):
        w = cells.stack(weights).values
    else:
        raise TypeError(f"weights must be 'area', None or a DataArray, got {type(weights)}")
    w = np.asarray(w, float)
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero on valid cells")
    return w / w.sum()


def metric_names(metrics: Any) -> list[str]:
    """``metrics=`` of :func:`score` as a list of registered names: one name or a list of
    names (never a string's letters), default all, each known (else the closest)."""
    if metrics is None:
        return list(TRUTH_METRICS)
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list | tuple) or not all(isinstance(m, str) for m in metrics):
        raise TypeError("metrics must be a metric's name or a list of names, e.g. "
                        f"metrics=['pearson', 'nmae'] (xattrib list truth-metrics); got {metrics!r}")
    for name in metrics:
        if name not in TRUTH_METRICS:
            if name in GTFREE_METRICS:
                raise ValueError(
                    f"metrics: {name!r} is a GT-free metric (it needs a model, not a truth): "
                    "xattrib.evaluate(heat, model, ds, metrics=...) computes it; score takes "
                    f"truth metrics: {', '.join(TRUTH_METRICS)}")
        TRUTH_METRICS.get(name)  # an unknown name: the valid ones and the closest
    return list(metrics)


def score(
    attribution: xr.Dataset | xr.DataArray,
    truth: xr.DataArray | xr.Dataset,
    metrics: list[str] | tuple[str, ...] | None = None,
    weights: Any = "area",
    k: float = 0.1,
    sign_threshold: float = 0.05,
    positive_convention: str = "positive_part",
    sample_dim: str | None = None,
    metric: str | list[str] | tuple[str, ...] | None = None,
) -> xr.Dataset:
    """Score heatmaps against the truth: one variable per metric over ``(xai_method, sample)``.

    Parameters
    ----------
    attribution : Dataset or DataArray
        ``attribute``'s output (its ``attribution``, ``prediction`` and ``positive_only``
        are used) or a DataArray ``(..., sample, lat, lon)``.
    truth : DataArray or Dataset
        ``(sample, lat, lon)`` on the same grid and samples, or a benchmark Dataset (its
        ``truth`` is used). Heatmaps of several input variables (``attribution_<v>``)
        are scored against the benchmark's ``truth_<v>``, each variable alone and all
        together (every variable's cells as one map), along ``input_variable``
        (the variables' names, then ``all``).
    metrics : list of str, optional
        Names from :data:`xattrib.truth_metrics.TRUTH_METRICS` (default: all).
    weights : "area", None or DataArray
        Cell weights over valid cells: cell area (default), uniform (None: the original's
        unweighted comparison) or user weights.
    k : float
        Top-k size, as a fraction of valid cells (< 1) or a count.
    sign_threshold : float
        Cells with ``|g|`` below this fraction of ``max |g|`` are left out of ``sign_agreement``.
    positive_convention : {"positive_part", "abs"}
        For one-signed methods (``positive_only``): compare s·a with (s·g)⁺, s the sign of
        the prediction (Mamalakis et al. 2022), or s·a with ``|g|``.
    sample_dim : str, optional
        The sample dimension (any name, e.g. ``time``): found by itself from the truth's
        dims when it is the only one besides the spatial (or feature) dimension.
    metric : str or list of str, optional
        Another name for ``metrics`` (every verb takes the singular as an alias).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xattrib.grid import make_grid
    >>> g = make_grid(30.0, mask=None)
    >>> t = xr.DataArray(np.random.default_rng(0).normal(size=(3, 6, 12)),
    ...                  dims=("sample", "lat", "lon"), coords={"lat": g.lat, "lon": g.lon})
    >>> s = score(t, t, metrics=["pearson", "cosine"])
    >>> float(s["pearson"].min()), float(s["cosine"].min())
    (1.0, 1.0)
    """
    require_xarray(attribution, "attribution", "heatmaps (attribute's Dataset or a DataArray)")
    require_xarray(truth, "truth", "a DataArray (or a benchmark Dataset with 'truth')")
    if metric is not None:
        metrics = take_alias({"metric": metric}, "metric", "metrics", metrics, None)
    attribution, truth = restore(attribution), restore(truth)  # re-opened with plain xarray
    several = heat_variables(attribution)
    if several and isinstance(attribution, xr.Dataset):
        return _score_variables(attribution, truth, several, metrics, weights, k,
                                sign_threshold, positive_convention, sample_dim)
    if isinstance(truth, xr.Dataset):  # a benchmark: its truth
        if "truth" not in truth:
            raise ValueError(f"truth is a Dataset without a 'truth' variable (it has "
                             f"{sorted(map(str, truth.data_vars))}); pass the DataArray of "
                             "the true attributions, e.g. truth=ds['name']")
        truth = truth["truth"]
    if positive_convention not in ("positive_part", "abs"):
        raise ValueError(f"positive_convention must be 'positive_part' or 'abs', got "
                         f"{positive_convention!r}")
    names = metric_names(metrics)
    heat = attribution["attribution"] if isinstance(attribution, xr.Dataset) else attribution
    like = attribution if isinstance(attribution, xr.Dataset) else heat
    fdim, sample_dim = _feature_and_sample_dims(truth, sample_dim)
    _check_same_samples(heat, truth, {fdim} if fdim is not None else
                        set(find_latlon(truth).dims))
    if fdim is not None:  # a transformed-space truth: features take the place of cells
        return _score_features(attribution, heat, like, truth, fdim, names, weights, k,
                               sign_threshold, positive_convention, sample_dim)
    if isinstance(attribution, xr.Dataset) and "mask" in attribution:
        mask = attribution["mask"]
    else:  # valid cells from the truth's first sample: one small read for lazy input
        mask = truth.isel({sample_dim: 0}).notnull().compute()
    cells = CellIndex.from_mask(mask)
    cells.check_grid(truth, what="truth")
    w = _weights(cells, weights, like)
    a = cells.stack(heat)
    g = cells.stack(truth)
    return _score_stacked(attribution, heat, like, a, g, w, names, k, sign_threshold,
                          positive_convention, sample_dim,
                          "cell area" if isinstance(weights, str) else
                          ("uniform" if weights is None else "user-supplied"))


def per_variable(maps: dict[str, xr.DataArray]) -> xr.Dataset:
    """Heatmaps of several input variables laid out as ``attribute`` writes them
    (``attribution_<v>`` each, ``xattrib_input_variables``): what :func:`heat_variables`
    reads back."""
    return xr.Dataset({f"attribution_{v}": m for v, m in maps.items()},
                      attrs={"xattrib_input_variables": " ".join(maps)})


def heat_variables(attribution: xr.Dataset | xr.DataArray) -> list[str]:
    """The input variables of heatmaps of a several-variable model (none otherwise)."""
    if not isinstance(attribution, xr.Dataset) or "attribution" in attribution:
        return []
    names = str(attribution.attrs.get("xattrib_input_variables", "")).split()
    return names if all(f"attribution_{v}" in attribution for v in names) else []


def _score_variables(attribution: xr.Dataset, truth: xr.Dataset | xr.DataArray,
                     variables: list[str], metrics: Any, weights: Any, k: float,
                     sign_threshold: float, positive_convention: str,
                     sample_dim: str | None) -> xr.Dataset:
    """Each variable's heatmap against its truth, and all variables as one map."""
    if not isinstance(truth, xr.Dataset):
        raise ValueError(f"the heatmaps are of {len(variables)} input variables {variables}; "
                         "pass the benchmark Dataset as truth (it holds truth_<variable> for "
                         "each), or score one at a time: score(heat['attribution_<v>'], "
                         "bench['truth_<v>'])")
    missing = [v for v in variables if f"truth_{v}" not in truth]
    if missing:
        raise ValueError(f"truth has no 'truth_{missing[0]}' for the input variable "
                         f"{missing[0]!r} (it has {sorted(map(str, truth.data_vars))}); "
                         "score heatmaps against the benchmark they were computed on")
    kw = {"weights": weights, "k": k, "sign_threshold": sign_threshold,
          "positive_convention": positive_convention, "sample_dim": sample_dim}
    common = [c for c in ("prediction", "mask", "cell_area") if c in attribution]
    parts = [score(attribution[[f"attribution_{v}", *common]].rename(
        {f"attribution_{v}": "attribution"}).assign_attrs(attribution.attrs),
        truth[f"truth_{v}"], metrics=metrics, **kw) for v in variables]
    total = _score_joint(attribution, truth, variables, metrics, kw)
    out = xr.concat([*parts, total], INPUT_VARIABLE_DIM, combine_attrs="override")
    out.coords[INPUT_VARIABLE_DIM] = (INPUT_VARIABLE_DIM, [*variables, "all"], {
        "long_name": "input variable scored (all: every variable's cells as one map)"})
    return out


def _score_joint(attribution: xr.Dataset, truth: xr.Dataset, variables: list[str],
                 metrics: Any, kw: dict[str, Any]) -> xr.Dataset:
    """All variables as one map: their cells one after another, each cell weighted as in
    its own variable's map (the weights shared equally between the variables)."""
    names = metric_names(metrics)
    first = truth[f"truth_{variables[0]}"]
    sample_dim = sample_dim_of(first, kw["sample_dim"], what="the truth")
    mask = attribution["mask"] if "mask" in attribution else \
        first.isel({sample_dim: 0}).notnull().compute()
    cells = CellIndex.from_mask(mask)
    w = _weights(cells, kw["weights"], attribution)
    heat = attribution[f"attribution_{variables[0]}"]

    def joined(da: list[xr.DataArray]) -> xr.DataArray:
        st = [cells.stack(v) for v in da]
        st = [v.drop_vars([c for c in v.coords if "cell" in v[c].dims]) for v in st]
        out = xr.concat(st, "cell")
        return out.chunk({"cell": -1}) if out.chunks is not None else out

    a = joined([attribution[f"attribution_{v}"] for v in variables])
    g = joined([truth[f"truth_{v}"] for v in variables])
    return _score_stacked(attribution, heat, attribution, a, g,
                          np.tile(w, len(variables)) / len(variables), names, kw["k"],
                          kw["sign_threshold"], kw["positive_convention"], sample_dim,
                          "cell area" if isinstance(kw["weights"], str) else
                          ("uniform" if kw["weights"] is None else "user-supplied"))


def _labels(da: xr.DataArray, dim: Any) -> str:
    n = da.sizes[dim]
    if dim not in da.indexes or n == 0:
        return f"{n}"
    idx = da.indexes[dim]
    return f"{n}, {idx[0]} … {idx[-1]}"


def _check_same_samples(heat: xr.DataArray, truth: xr.DataArray, spatial: set[Any]) -> None:
    """Heatmaps and truth over the same samples: xarray would otherwise score only the
    common labels (silently dropping the rest) or fail with an alignment error."""
    for dim in set(heat.dims) & set(truth.dims) - spatial:
        same = heat.sizes[dim] == truth.sizes[dim] and (
            dim not in heat.indexes or dim not in truth.indexes
            or heat.indexes[dim].equals(truth.indexes[dim]))
        if not same:
            raise ValueError(
                f"truth and heatmaps cover different {dim!r}: heatmaps {_labels(heat, dim)}, "
                f"truth {_labels(truth, dim)}. Select the same ones, e.g. "
                f"truth.sel({dim}=heat[{dim!r}])")


def _feature_and_sample_dims(truth: xr.DataArray, sample_dim: str | None
                             ) -> tuple[str | None, str]:
    """(the feature dimension of a truth over transformed features, None on a grid; the
    sample dimension)."""
    try:
        find_latlon(truth)
        gridded = True
    except ValueError:
        gridded = False
    if gridded:
        return None, sample_dim_of(truth, sample_dim, what="the truth")
    if sample_dim is None:
        sample_dim = "sample"
    sample_dim_of(truth, sample_dim, other=truth.dims, what="the truth")
    dims = [d for d in truth.dims if d != sample_dim]
    if len(dims) != 1:
        raise ValueError(f"truth has no latitude/longitude, so it must be over one feature "
                         f"dimension besides {sample_dim!r}; got dims {truth.dims}")
    return str(dims[0]), sample_dim


def _score_features(attribution: Any, heat: xr.DataArray, like: Any, truth: xr.DataArray,
                    fdim: str, names: list[str], weights: Any, k: float,
                    sign_threshold: float, positive_convention: str,
                    sample_dim: str) -> xr.Dataset:
    """Scores over transformed features: cell areas mean nothing there, so features weigh
    the same (``weights="area"`` or None) unless a DataArray over ``fdim`` is given."""
    if fdim not in heat.dims:
        raise ValueError(f"the truth is over {fdim!r} but the attribution has dims "
                         f"{heat.dims}; explain with trim(transform='benchmark', "
                         "groups='features') or group the truth the same way")
    n = truth.sizes[fdim]
    if isinstance(weights, xr.DataArray):
        w = np.asarray(weights.transpose(fdim).values, float)
        label = "user-supplied"
    elif weights is None or weights == "area":
        w, label = np.ones(n), f"uniform over {fdim} (no cell areas in a transformed space)"
    else:
        raise ValueError(f"weights must be 'area', None or a DataArray, got {weights!r}")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    keep = [c for c in heat.coords if fdim in heat[c].dims]
    a = heat.drop_vars(keep).rename({fdim: "cell"})
    g = truth.drop_vars([c for c in truth.coords if fdim in truth[c].dims]).rename(
        {fdim: "cell"})
    # features in one chunk (a grouped truth, truth.groupby(labels).sum(), has several)
    a, g = (v.chunk({"cell": -1}) if v.chunks is not None else v for v in (a, g))
    return _score_stacked(attribution, heat, like, a, g, w / w.sum(), names, k,
                          sign_threshold, positive_convention, sample_dim, label)


def _score_stacked(attribution: Any, heat: xr.DataArray, like: Any, a: xr.DataArray,
                   g: xr.DataArray, w: np.ndarray, names: list[str], k: float,
                   sign_threshold: float, positive_convention: str, sample_dim: str,
                   weights_label: str) -> xr.Dataset:
    if sample_dim in a.dims and sample_dim in g.dims and \
            a.sizes[sample_dim] != g.sizes[sample_dim]:
        a, g = xr.align(a, g, join="inner", exclude=["cell"])
    flip = None
    if isinstance(attribution, xr.Dataset) and "positive_only" in heat.coords:
        pos = heat.coords["positive_only"]
        if bool(pos.any()):
            pred = attribution["prediction"] if "prediction" in attribution else g.sum("cell")
            s = xr.where(pred >= 0, 1.0, -1.0)
            g_pos = (g * s).clip(min=0) if positive_convention == "positive_part" else abs(g)
            a = xr.where(pos, a * s, a)
            g = xr.where(pos, g_pos, g)
            flip = positive_convention
    out = xr.Dataset()
    for name in names:
        metric = TRUTH_METRICS.get(name)
        res = xr.apply_ufunc(
            metric.kernel, a, g, input_core_dims=[["cell"], ["cell"]], dask="parallelized",
            output_dtypes=[float], kwargs={"w": w, "k": k, "sign_threshold": sign_threshold},
            keep_attrs=False)
        out[name] = res.assign_attrs(long_name=metric.long_name, units=metric.units or heat.attrs.get(
            "units", "1"))
    for c in out.coords:  # apply_ufunc drops coordinate attributes; CF wants them
        if c in heat.coords and not out[c].attrs:
            out[c].attrs = dict(heat[c].attrs)
    out.attrs.update({
        "title": "xattrib scores of attributions against the truth",
        "weights": weights_label,
        "topk_k": k, "sign_threshold": sign_threshold,
        "positive_only_convention": flip or "none (no positive-only method)",
        "conventions": (__doc__ or "").split("Conventions (also written into the output's "
                                             "attributes):")[-1].strip(),
        **{key: v for key, v in like.attrs.items() if key.startswith("xattrib_")},
    })
    return out


def truth_kinds(bench: xr.Dataset) -> dict[str, str]:
    """The kinds of exact attribution a benchmark holds → the variable of each.

    An additive benchmark has one target for every complete method: ``{"exact": "truth"}``.
    An interacting one (``pairs``, ``gating``: :mod:`xattrib.responses.interacting`) has
    ``truth`` (the Shapley value), ``truth_ig``, ``truth_main`` and ``truth_interaction``.

    Examples
    --------
    >>> import xattrib
    >>> bench = xattrib.benchmark(n_samples=10, response="pairs", chunks=10)
    >>> xattrib.scoring.truth_kinds(bench)
    {'shapley': 'truth', 'ig': 'truth_ig', 'main': 'truth_main', 'interaction': 'truth_interaction'}
    """
    require_xarray(bench, "bench", "a benchmark Dataset")
    if not isinstance(bench, xr.Dataset) or "truth" not in bench:
        raise ValueError("bench must be a benchmark Dataset with a 'truth' variable")
    kinds = str(bench.attrs.get("xattrib_truth_kinds", "")).split()
    if not kinds:
        return {"exact": "truth"}
    out = {k: "truth" if i == 0 else f"truth_{k}" for i, k in enumerate(kinds)}
    missing = [v for v in out.values() if v not in bench]
    if missing:
        raise ValueError(f"the benchmark names truth kinds {kinds} but lacks {missing}; "
                         "keep every truth_* variable when selecting from it")
    return out


def score_kinds(attribution: xr.Dataset | xr.DataArray, bench: xr.Dataset,
                metrics: list[str] | tuple[str, ...] = ("pearson", "nmae"),
                **kwargs: Any) -> xr.Dataset:
    """:func:`score` against every kind of exact attribution of ``bench``, stacked along a
    ``truth_kind`` dimension (which target each method hits: Shapley, IG, main effects...).

    An interacting benchmark also gets ``leave_one_out`` = ``truth_main`` +
    ``truth_interaction``, F(x) − F(x with xᵢ := bᵢ): occlusion's own target. Keywords go to
    :func:`score`. Lazy when the inputs are.

    Examples
    --------
    >>> import xattrib
    >>> bench = xattrib.benchmark(n_samples=20, response="gating", chunks=20)
    >>> heat = xattrib.attribute(bench, xattrib.Model.exact(bench), methods=["occlusion"])
    >>> s = xattrib.scoring.score_kinds(heat, bench)
    >>> s["truth_kind"].values.tolist()
    ['shapley', 'ig', 'main', 'interaction', 'leave_one_out']
    >>> float(s["nmae"].sel(truth_kind="leave_one_out").max()) < 1e-4  # float32 network
    True
    """
    kinds = {k: bench[v] for k, v in truth_kinds(bench).items()}
    if "main" in kinds and "interaction" in kinds:
        kinds["leave_one_out"] = (kinds["main"] + kinds["interaction"]).assign_attrs(
            truth_kind="leave_one_out")
    parts = [score(attribution, t, metrics=metric_names(metrics), **kwargs) for t in kinds.values()]
    out = xr.concat(parts, TRUTH_KIND_DIM, combine_attrs="override")
    out.coords[TRUTH_KIND_DIM] = (TRUTH_KIND_DIM, list(kinds), {
        "long_name": "kind of exact attribution scored against"})
    if METHOD_DIM in out.dims:
        out = out.transpose(TRUTH_KIND_DIM, METHOD_DIM, ...)
    return out
