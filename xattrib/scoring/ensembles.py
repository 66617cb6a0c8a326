"""Is it the method or the network? Statistics of an ensemble's heatmaps (``member`` dim).

- :func:`agreement`: per sample and method, the mean pairwise area-weighted Pearson r
  between members' heatmaps (the "XAI–XAI" statistic of Krell et al. 2025; XAI–GT is
  :func:`~xattrib.score` per member);
- :func:`split_error`: on a glass-box (additive) network, a method's squared error against
  the truth split into the explainer's (method vs the network's own exact attribution) and
  the learning's (the network's own vs the truth), with their cross term;
- :func:`decompose_error`: the members' mean squared error against the truth split exactly
  into the error of the ensemble-mean heatmap (``bias2``, shared by every member) and the
  members' spread around it (``variance``): total = bias2 + variance, per sample, then
  summarised over samples with bootstrap intervals.

Both stack the valid cells once and reduce with ``xr.apply_ufunc`` (lazy for dask input).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..dims import MEMBER_DIM, sample_dim_of
from ..grid import CellIndex, find_latlon, require_xarray
from ..io import restore
from .summary import summarize
from .truth import _weights

__all__ = ["agreement", "decompose_error", "split_error"]


def _members(heat: xr.Dataset | xr.DataArray, what: str) -> tuple[xr.DataArray, Any]:
    require_xarray(heat, what, "an ensemble's heatmaps (with a 'member' dimension)")
    heat = restore(heat)  # a file re-opened with plain xarray: its methods labelled again
    a = heat["attribution"] if isinstance(heat, xr.Dataset) else heat
    if MEMBER_DIM not in a.dims:
        raise ValueError(f"{what} has no {MEMBER_DIM!r} dimension (dims {tuple(a.dims)}): "
                         "attribute with an Ensemble, e.g. fit(bench, seed=[0, 1, 2])")
    if a.sizes[MEMBER_DIM] < 2:
        raise ValueError(f"{what} has {a.sizes[MEMBER_DIM]} member; agreement and spread "
                         "need at least two")
    return a, heat


def _cells(heat: Any, a: xr.DataArray) -> CellIndex:
    if isinstance(heat, xr.Dataset) and "mask" in heat:
        return CellIndex.from_mask(heat["mask"])
    spatial = _spatial(a)  # else the valid cells of the first map (one small read)
    first = a.isel({d: 0 for d in a.dims if d not in spatial})
    return CellIndex.from_mask(first.notnull().compute())


def _stacked(heat: Any, a: xr.DataArray, weights: Any, *others: xr.DataArray
             ) -> tuple[list[xr.DataArray], np.ndarray, str]:
    """Maps (and ``others``) with their cells, or groups of cells (``attribute(...,
    groups=)``), along ``cell``; the weights (summing to 1) and what they are."""
    gdim = a.attrs.get("group_dim")
    if gdim is not None and gdim in a.dims:  # groups: no cell areas, uniform unless given
        n = a.sizes[gdim]
        if isinstance(weights, xr.DataArray):
            w = np.asarray(weights.transpose(gdim).values, float)
            label = "user-supplied"
        else:
            w, label = np.ones(n), f"uniform over {gdim}"
        for o in others:
            if gdim not in o.dims:
                raise ValueError(f"the heatmaps are over groups ({gdim!r}) but another input "
                                 f"has dims {o.dims}: group it the same way, e.g. "
                                 "truth.groupby(labels).sum()")
        out = [v.drop_vars([c for c in v.coords if gdim in v[c].dims]).rename({gdim: "cell"})
               for v in (a, *others)]
        return [_one_chunk(v) for v in out], w / w.sum(), label
    cells = _cells(heat, a)
    for o in others:
        cells.check_grid(o, what="truth" if MEMBER_DIM not in o.dims else "the maps")
    w = _weights(cells, weights, heat)
    label = "cell area" if isinstance(weights, str) else (
        "uniform" if weights is None else "user-supplied")
    return [_one_chunk(cells.stack(v)) for v in (a, *others)], w, label


def _one_chunk(da: xr.DataArray) -> xr.DataArray:
    """Members and cells in one chunk each (each member's map is its own chunk after
    ``attribute``); other dimensions keep theirs."""
    if da.chunks is None:
        return da
    return da.chunk({d: -1 for d in (MEMBER_DIM, "cell") if d in da.dims})


def _spatial(a: xr.DataArray) -> tuple[Any, ...]:
    return tuple(find_latlon(a).dims)


def _agree(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mean pairwise weighted Pearson r over axis -2 (members) of ``(..., K, d)``: with each
    map standardised (weighted mean 0, weighted norm 1), Σ_{k≠l} r_kl = |Σ_k z_k|² − K."""
    z = z.astype(np.float64)
    z = z - (z * w).sum(-1, keepdims=True)
    norm = np.sqrt((z * z * w).sum(-1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(norm > 0, z / norm, np.nan)  # a constant map has no correlation
    k = z.shape[-2]
    s = z.sum(-2)
    return ((s * s * w).sum(-1) - k) / (k * (k - 1))


def agreement(heat: xr.Dataset | xr.DataArray, weights: Any = "area") -> xr.DataArray:
    """Mean pairwise (area-weighted) Pearson r between the members' heatmaps.

    Parameters
    ----------
    heat : Dataset or DataArray
        ``attribute``'s output for an :class:`~xattrib.Ensemble` (or any maps with a
        ``member`` dimension).
    weights : "area", None or DataArray
        Cell weights, as in :func:`~xattrib.score`.

    Returns
    -------
    DataArray over the other dimensions (``xai_method``, ``sample``): 1 when the members
    explain alike, 0 when unrelated. Lazy for dask input.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.random.default_rng(0).normal(size=(4, 3, 5)),
    ...                  dims=("sample", "lat", "lon"),
    ...                  coords={"lat": [0., 10., 20.], "lon": np.arange(5.) * 10})
    >>> same = xr.concat([m, m, 2 * m], "member")           # identical up to scale
    >>> np.allclose(agreement(same, weights=None), 1)
    True
    """
    a, heat = _members(heat, "heat")
    (z,), w, label = _stacked(heat, a, weights)
    out = xr.apply_ufunc(_agree, z, input_core_dims=[[MEMBER_DIM, "cell"]],
                         dask="parallelized", output_dtypes=[float], kwargs={"w": w})
    return out.rename("agreement").assign_attrs(
        long_name="mean pairwise Pearson r between ensemble members' heatmaps", units="1",
        weights=label)


def _split(a: np.ndarray, g: np.ndarray, w: np.ndarray, normalise: bool) -> np.ndarray:
    """``(..., 3)``: total, bias², variance of members ``(..., K, d)`` against ``g (..., d)``."""
    a, g = a.astype(np.float64), g.astype(np.float64)
    mean = a.mean(-2)
    total = (((a - g[..., None, :]) ** 2) * w).sum(-1).mean(-1)
    bias2 = (((mean - g) ** 2) * w).sum(-1)
    var = (((a - mean[..., None, :]) ** 2) * w).sum(-1).mean(-1)
    out = np.stack([total, bias2, var], -1)
    if normalise:
        energy = ((g * g) * w).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = out / np.where(energy > 0, energy, np.nan)[..., None]
    return out


def decompose_error(heat: xr.Dataset | xr.DataArray, truth: xr.DataArray | xr.Dataset,
                    weights: Any = "area", normalise: bool = True, summary: bool = True,
                    n_boot: int = 1000, ci: float = 0.95, seed: int = 0,
                    sample_dim: str | None = None) -> xr.Dataset:
    """The members' squared error against the truth = bias² of their mean + their variance.

    Per sample and method, with area weights wᵢ (summing to 1), members a_k and their mean ā:
    ``total`` = mean_k Σᵢ wᵢ(a_k,i − gᵢ)², ``bias2`` = Σᵢ wᵢ(āᵢ − gᵢ)² (the error every member
    shares) and ``variance`` = mean_k Σᵢ wᵢ(a_k,i − āᵢ)² (the networks disagreeing); total =
    bias2 + variance exactly. A method with large variance is explaining networks that learnt
    different functions; one with large bias2 is wrong about all of them.

    Parameters
    ----------
    heat : Dataset or DataArray
        An ensemble's heatmaps (``member`` dimension).
    truth : DataArray or benchmark Dataset
    weights : "area", None or DataArray
    normalise : bool
        Divide by the truth's weighted mean square Σ wᵢgᵢ² per sample (so samples of large
        and small response weigh alike; the identity still holds).
    summary : bool
        Mean over samples with bootstrap intervals (:func:`~xattrib.scoring.summarize`);
        False returns the per-sample values (lazy for dask input).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> c = {"lat": [0., 10.], "lon": [0., 10., 20.]}
    >>> g = xr.DataArray(rng.normal(size=(6, 2, 3)), dims=("sample", "lat", "lon"), coords=c)
    >>> a = xr.concat([g + rng.normal(size=g.shape) for _ in range(4)], "member")
    >>> d = decompose_error(a, g, summary=False)
    >>> bool(np.allclose(d["total"], d["bias2"] + d["variance"]))
    True
    """
    a, heat = _members(heat, "heat")
    require_xarray(truth, "truth", "a DataArray (or a benchmark Dataset with 'truth')")
    if isinstance(truth, xr.Dataset):
        truth = truth["truth"]
    if MEMBER_DIM in truth.dims:
        raise ValueError("truth has a member dimension; the truth is the same for every "
                         "member — pass the benchmark's truth")
    (za, zg), w, label = _stacked(heat, a, weights, truth)
    res = xr.apply_ufunc(_split, za, zg,
                         input_core_dims=[[MEMBER_DIM, "cell"], ["cell"]],
                         output_core_dims=[["part"]], dask="parallelized",
                         output_dtypes=[float], dask_gufunc_kwargs={"output_sizes": {"part": 3}},
                         kwargs={"w": w, "normalise": bool(normalise)})
    unit = "fraction of the truth's weighted mean square" if normalise else "attribution units²"
    out = xr.Dataset({name: res.isel(part=i, drop=True).assign_attrs(long_name=long, units="1")
                      for i, (name, long) in enumerate([
                          ("total", "members' mean squared error against the truth"),
                          ("bias2", "squared error of the ensemble-mean heatmap"),
                          ("variance", "members' spread around the ensemble mean")])})
    out.attrs.update(normalised=unit, identity="total = bias2 + variance", weights=label)
    if not summary:
        return out
    sd = sample_dim_of(out["total"], sample_dim, other=("xai_method", "output"),
                       what="the errors")
    return summarize(out.compute(), n_boot=n_boot, ci=ci, seed=seed, sample_dim=sd)


def _split3(a: np.ndarray, c: np.ndarray, g: np.ndarray, w: np.ndarray,
            normalise: bool) -> np.ndarray:
    """``(..., 4)``: total, explainer, learning, cross for maps ``a``, own ``c``, truth ``g``."""
    a, c, g = (np.asarray(v, np.float64) for v in (a, c, g))
    total = (((a - g) ** 2) * w).sum(-1)
    explainer = (((a - c) ** 2) * w).sum(-1)
    learning = np.broadcast_to((((c - g) ** 2) * w).sum(-1), total.shape)
    out = np.stack([total, explainer, learning, total - explainer - learning], -1)
    if normalise:
        energy = np.broadcast_to(((g * g) * w).sum(-1), total.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = out / np.where(energy > 0, energy, np.nan)[..., None]
    return out


def split_error(heat: xr.Dataset | xr.DataArray, own: xr.DataArray,
                truth: xr.DataArray | xr.Dataset, weights: Any = "area",
                normalise: bool = True, summary: bool = True, n_boot: int = 1000,
                ci: float = 0.95, seed: int = 0, sample_dim: str | None = None
                ) -> xr.Dataset:
    """Whose error is it? A method's error on a glass-box network, split in two.

    On an additive network (``fit(arch="additive")``) the network's own exact attribution c
    is known (:meth:`xattrib.Model.own_attribution`). Per sample and method, with weights w:
    ``total`` = Σ w(a − g)² (method vs truth), ``explainer`` = Σ w(a − c)² (the method's
    error about the network it explains), ``learning`` = Σ w(c − g)² (the network's own
    departure from the truth, the same for every method) and ``cross`` =
    2 Σ w(a − c)(c − g), so total = explainer + learning + cross exactly.

    Parameters
    ----------
    heat : Dataset or DataArray
        Heatmaps of the additive network (or an ensemble of them: ``member``).
    own : DataArray
        The network's own attribution, with the same baseline as the heatmaps.
    truth : DataArray or benchmark Dataset
    weights, normalise, summary, n_boot, ci, seed, sample_dim : as :func:`decompose_error`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> c = {"lat": [0., 10.], "lon": [0., 10., 20.]}
    >>> g = xr.DataArray(rng.normal(size=(6, 2, 3)), dims=("sample", "lat", "lon"), coords=c)
    >>> own = g + 0.3 * rng.normal(size=g.shape)      # the network learnt g roughly
    >>> a = own + 0.1 * rng.normal(size=g.shape)      # the method explains it roughly
    >>> s = split_error(a, own, g, summary=False)
    >>> bool(np.allclose(s["total"], s["explainer"] + s["learning"] + s["cross"]))
    True
    """
    require_xarray(heat, "heat", "heatmaps (attribute's Dataset or a DataArray)")
    require_xarray(own, "own", "the network's own attribution (Model.own_attribution)")
    require_xarray(truth, "truth", "a DataArray (or a benchmark Dataset with 'truth')")
    heat, own, truth = restore(heat), restore(own), restore(truth)
    a = heat["attribution"] if isinstance(heat, xr.Dataset) else heat
    if isinstance(truth, xr.Dataset):
        truth = truth["truth"]
    if MEMBER_DIM in a.dims and MEMBER_DIM not in own.dims:
        raise ValueError("heat has a member dimension but own has none: pass the ensemble's "
                         "own attributions (Ensemble.own_attribution)")
    (za, zc, zg), w, label = _stacked(heat, a, weights, own, truth)
    res = xr.apply_ufunc(_split3, za, zc, zg,
                         input_core_dims=[["cell"], ["cell"], ["cell"]],
                         output_core_dims=[["part"]], dask="parallelized",
                         output_dtypes=[float],
                         dask_gufunc_kwargs={"output_sizes": {"part": 4}},
                         kwargs={"w": w, "normalise": bool(normalise)})
    names = [("total", "squared error of the method against the truth"),
             ("explainer", "squared error of the method against the network's own "
                           "attribution"),
             ("learning", "squared error of the network's own attribution against the "
                          "truth"),
             ("cross", "2 x the weighted product of the explainer's and the learning's "
                       "errors")]
    out = xr.Dataset({n: res.isel(part=i, drop=True).assign_attrs(long_name=lg, units="1")
                      for i, (n, lg) in enumerate(names)})
    out.attrs.update(identity="total = explainer + learning + cross", weights=label,
                     normalised="fraction of the truth's weighted mean square" if normalise
                     else "attribution units²")
    if not summary:
        return out
    sd = sample_dim_of(out["total"], sample_dim, other=("xai_method", "output", MEMBER_DIM),
                       what="the errors")
    return summarize(out.compute(), n_boot=n_boot, ci=ci, seed=seed, sample_dim=sd)
