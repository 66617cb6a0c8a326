"""Summaries of scores across samples: statistics with bootstrap intervals, skill maps and
null explanations to compare against."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..dims import INPUT_VARIABLE_DIM, METHOD_DIM, TRUTH_KIND_DIM, sample_dim_of
from ..generation import input_variables
from .truth import heat_variables, per_variable

__all__ = ["null_attributions", "skill_map", "summarize"]


def _bootstrap(values: np.ndarray, stat: Any, n_boot: int, rng: np.random.Generator,
               ci: float) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size < 2:
        return float("nan"), float("nan")
    idx = rng.integers(0, v.size, size=(n_boot, v.size))
    boots = stat(v[idx], axis=1)
    lo, hi = np.quantile(boots, [(1 - ci) / 2, (1 + ci) / 2])
    return float(lo), float(hi)


#: dimensions of scores that are never the samples
_NOT_SAMPLES = (METHOD_DIM, TRUTH_KIND_DIM, "output", "member", "metric", INPUT_VARIABLE_DIM)


def summarize(scores: xr.Dataset, quantiles: tuple[float, ...] = (0.05, 0.25, 0.75, 0.95),
              n_boot: int = 1000, ci: float = 0.95, seed: int = 0,
              sample_dim: str | None = None) -> xr.Dataset:
    """Per method: mean, median and quantiles over samples, with bootstrap intervals.

    ``sample_dim`` names the dimension to summarise over (any name, e.g. ``time``; found by
    itself when it is the only one besides ``xai_method``, ``output`` and ``member``).

    Returns a Dataset with the metrics as variables over ``(xai_method, statistic)``;
    statistics: ``mean``, ``mean_lo``, ``mean_hi``, ``median``, ``median_lo``,
    ``median_hi``, ``q05``… (NaNs, e.g. undefined correlations, are left out).

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> s = xr.Dataset({"pearson": (("xai_method", "sample"), np.ones((2, 50)))},
    ...                coords={"xai_method": ["a", "b"]})
    >>> float(summarize(s, n_boot=50)["pearson"].sel(statistic="mean_lo")[0])
    1.0
    """
    sample_dim = sample_dim_of(scores, sample_dim, other=_NOT_SAMPLES, what="the scores")
    rng = np.random.default_rng(seed)
    stats = ["mean", "mean_lo", "mean_hi", "median", "median_lo", "median_hi",
             *[f"q{round(100 * q):02d}" for q in quantiles], "n"]
    out = xr.Dataset(coords={"statistic": ("statistic", stats)})
    for name, da in scores.data_vars.items():
        if sample_dim not in da.dims:
            continue
        arr = da.transpose(..., sample_dim).values
        lead = arr.shape[:-1]
        res = np.full((*lead, len(stats)), np.nan)
        for i in np.ndindex(*lead):
            v = arr[i]
            fin = v[np.isfinite(v)]
            res[i][-1] = fin.size
            if fin.size == 0:  # e.g. correlation of a constant map: undefined everywhere
                continue
            res[i][0] = fin.mean()
            res[i][1:3] = _bootstrap(v, np.mean, n_boot, rng, ci)
            res[i][3] = np.median(fin)
            res[i][4:6] = _bootstrap(v, np.median, n_boot, rng, ci)
            res[i][6:6 + len(quantiles)] = np.quantile(fin, quantiles)
        dims = [d for d in da.dims if d != sample_dim]
        out[name] = xr.DataArray(res, dims=(*dims, "statistic"),
                                 coords={d: da[d] for d in dims if d in da.coords},
                                 attrs=da.attrs)
    out.attrs.update(scores.attrs, bootstrap_resamples=n_boot, bootstrap_interval=ci)
    return out


def skill_map(heat: xr.Dataset | xr.DataArray, truth: xr.DataArray | xr.Dataset,
              sample_dim: str | None = None) -> xr.DataArray:
    """Per-cell skill: Pearson correlation between attribution and truth over samples
    (``sample_dim``: any name, found by itself from the truth's dims by default).

    ``truth`` may be the benchmark Dataset; heatmaps of several input variables then give
    one map per variable along ``input_variable``."""
    names = heat_variables(heat)
    if names:
        if not isinstance(truth, xr.Dataset):
            raise ValueError("heatmaps of several input variables need the benchmark Dataset "
                             "as truth (its truth_<variable> for each)")
        maps = [skill_map(heat[f"attribution_{v}"], truth[f"truth_{v}"], sample_dim)
                for v in names]
        return xr.concat(maps, INPUT_VARIABLE_DIM).assign_coords(
            {INPUT_VARIABLE_DIM: names})
    if isinstance(truth, xr.Dataset):
        truth = truth["truth"]
    a = heat["attribution"] if isinstance(heat, xr.Dataset) else heat
    s = sample_dim_of(truth, sample_dim, what="the truth", default="sample")
    # written out rather than xr.corr: a constant map (the null_constant explanation, or
    # a cell whose truth never varies) has zero variance, and xr.corr divides by it with a
    # RuntimeWarning; here such cells are NaN by definition, silently. Sums with counts
    # avoid numpy's "mean of empty slice" on land.
    valid = a.notnull() & truth.notnull()
    n = valid.sum(s)
    nn = xr.where(n > 0, n, 1)
    am = a.where(valid) - a.where(valid).sum(s) / nn
    tm = truth.where(valid) - truth.where(valid).sum(s) / nn
    cov = (am * tm).sum(s)
    var = (am * am).sum(s) * (tm * tm).sum(s)
    ok = (n > 1) & (var > 0)
    r = xr.where(ok, cov / np.sqrt(xr.where(ok, var, 1.0)), np.nan)
    r.attrs = {}
    return r.rename("skill").assign_attrs(
        long_name="correlation over samples of attribution and truth at each cell", units="1")


def null_attributions(bench: xr.Dataset, seed: int = 0) -> xr.DataArray | xr.Dataset:
    """Null explanations to score alongside real methods: ``null_random`` (Gaussian noise),
    ``null_constant`` (1 on every valid cell) and ``null_input`` (the input field itself).

    A benchmark of several variables gets ``attribution_<v>`` for each (each variable's
    noise drawn from its own stream), as :func:`xattrib.attribute` writes them."""
    names = input_variables(bench)
    if names:
        return per_variable({v: _nulls(bench[v], seed + i) for i, v in enumerate(names)})
    return _nulls(bench["x"], seed)


def _nulls(x: xr.DataArray, seed: int) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    valid = x.notnull()
    noise = xr.DataArray(rng.standard_normal(x.shape).astype(np.float32), dims=x.dims,
                         coords=x.coords)
    nulls = [noise.where(valid), xr.ones_like(x).where(valid), x]
    out = xr.concat(nulls, dim=METHOD_DIM, coords="minimal", compat="override")
    out = out.assign_coords({METHOD_DIM: ["null_random", "null_constant", "null_input"],
                             "complete": (METHOD_DIM, [False] * 3),
                             "positive_only": (METHOD_DIM, [False] * 3)})
    return out.rename("attribution").assign_attrs(long_name="null explanation", units="1")
