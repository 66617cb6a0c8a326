"""The one baseline vocabulary of the truth and the methods, and its one parser.

A baseline is what an attribution is relative to. The benchmark's ``truth`` and every
attribution method read the same values:

- ``"zero"``: the zero anomaly (climatology, for standardised anomalies);
- ``"mean"``: a model's training mean (methods only: a benchmark has no model);
- ``"expectation"``: the benchmark's own distribution — the truth is Fᵢ(xᵢ) − E[Fᵢ(Xᵢ)],
  background methods draw their background from the benchmark's generator;
- a number: the same value on every valid cell;
- a DataArray over (lat, lon): one field;
- a DataArray over (sample, lat, lon): one baseline per sample;
- a DataArray over (background, lat, lon): a background distribution (for the truth: the
  mean of Fᵢ over it).

:func:`parse_baseline` turns any of them into arrays over the valid cells, with one set of
error messages; the truth (:func:`xattrib.benchmark`) and the methods
(:func:`xattrib.attribute`) then compute what their kind needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .grid import CellIndex

__all__ = ["BASELINE_NAMES", "BaselineSpec", "parse_baseline"]

#: the baselines given by name; ``"mean"`` needs a model
BASELINE_NAMES = ("zero", "mean", "expectation")


@dataclass
class BaselineSpec:
    """A parsed baseline over the valid cells (``d`` values per sample).

    ``kind`` is a name of :data:`BASELINE_NAMES`, ``"value"``, ``"field"``,
    ``"per-sample"`` or ``"background"``; ``fixed`` holds the one field of ``value`` and
    ``field``; ``per_sample`` the stacked ``(sample, cell)`` DataArray; ``background`` the
    ``(m, d)`` rows of a given background.
    """

    kind: str
    fixed: np.ndarray | None = None
    per_sample: xr.DataArray | None = None
    background: np.ndarray | None = None
    value: float | None = None


def _named(baseline: str, allowed: tuple[str, ...], why_not: dict[str, str]) -> BaselineSpec:
    if baseline in allowed:
        return BaselineSpec(baseline)
    reason = f" ({why_not[baseline]})" if baseline in why_not else ""
    raise ValueError(f"baseline must be one of {allowed}, a number, a field DataArray over "
                     f"(lat, lon), a per-sample DataArray over (sample, lat, lon) or a "
                     f"background DataArray over (background, lat, lon); got "
                     f"{baseline!r}{reason}")


def parse_baseline(baseline: Any, cells: CellIndex, n_vars: int = 1,
                   sample_dim: str = "sample", n_samples: int | None = None,
                   allowed: tuple[str, ...] = BASELINE_NAMES,
                   why_not: dict[str, str] | None = None) -> BaselineSpec:
    """Parse a baseline of the vocabulary into arrays over ``cells``.

    Parameters
    ----------
    baseline : str, number or DataArray
        See the module's docstring.
    cells : CellIndex
        The valid cells the baseline must cover (a field on another grid is an error that
        names the baseline).
    n_vars : int
        Input variables: a number applies to all; a DataArray needs a single variable.
    sample_dim : str
        The sample dimension of a per-sample baseline.
    n_samples : int, optional
        The number of samples a per-sample baseline must have.
    allowed : tuple of str
        The names the caller can resolve (the truth has no ``"mean"``).
    why_not : dict, optional
        Why a name outside ``allowed`` cannot be used here (added to the error).

    Examples
    --------
    >>> import xattrib
    >>> cells = xattrib.CellIndex.from_data(xattrib.datasets.pacific_sst())
    >>> parse_baseline(0.5, cells).fixed[:3]
    array([0.5, 0.5, 0.5])
    >>> parse_baseline("zero", cells).kind
    'zero'
    """
    if isinstance(baseline, str):
        return _named(baseline, allowed, why_not or {})
    if isinstance(baseline, bool) or (not isinstance(baseline, xr.DataArray)
                                      and not np.isscalar(baseline)):
        raise TypeError(f"baseline must be a string, a number or a DataArray, got "
                        f"{type(baseline).__name__}")
    if not isinstance(baseline, xr.DataArray):
        v = float(baseline)  # type: ignore[arg-type]
        if not np.isfinite(v):
            raise ValueError(f"baseline must be finite, got {v}")
        return BaselineSpec("value", fixed=np.full(cells.n_cells * n_vars, v), value=v)
    if n_vars > 1:
        raise ValueError(f"the model reads {n_vars} variables; use baseline='zero', 'mean' or "
                         "a number")
    extra = [d for d in baseline.dims if d not in cells.spatial.dims]
    try:
        stacked = cells.stack(baseline.transpose(*extra, *cells.spatial.dims))
    except ValueError as err:
        raise ValueError(f"baseline: {err}") from None
    if not extra:
        arr = np.asarray(stacked.values, float)
        if np.isnan(arr).any():
            raise ValueError("the baseline field is NaN on valid cells; fill it there")
        return BaselineSpec("field", fixed=arr)
    if extra == ["background"]:
        rows = np.asarray(stacked.values, float)
        if np.isnan(rows).any():
            raise ValueError("the background is NaN on valid cells; fill it there")
        return BaselineSpec("background", background=rows)
    if extra == [sample_dim]:
        if n_samples is not None and baseline.sizes[sample_dim] != n_samples:
            raise ValueError(f"a per-sample baseline must have the data's {n_samples} samples "
                             f"along {sample_dim!r}; it has {baseline.sizes[sample_dim]}")
        return BaselineSpec("per-sample", per_sample=stacked)
    raise ValueError(f"a baseline DataArray may add one dim, {sample_dim!r} (one baseline per "
                     f"sample) or 'background' (a distribution), to the spatial dims; got "
                     f"{baseline.dims}")
