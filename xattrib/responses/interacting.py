"""Responses with interactions: an additive ``pwl`` part plus a non-additive term, and their
exact attributions of several kinds.

Under additivity every complete attribution method has the same target, Fᵢ(xᵢ) − Fᵢ(bᵢ).
With an interaction the methods target different quantities (Fumagalli et al. 2025), so an
interacting family gives each one in closed form, relative to a baseline input b:

``shapley``
    the baseline (interventional) Shapley value of the game v(S) = F(x_S, b_rest): a pure
    pairwise interaction is split equally between its two cells. Sums to F(x) − F(b).
``ig``
    Integrated Gradients along the straight path from b to x (the Aumann–Shapley value).
    Sums to F(x) − F(b); splits xᵢxⱼ equally but xᵢ²xⱼ two to one.
``main``
    the first-order term of the functional-ANOVA decomposition anchored at b,
    F(xᵢ, b_rest) − F(b): what cell i does alone. Does *not* sum to F(x) − F(b).
``interaction``
    every higher-order ANOVA term cell i takes part in, each counted whole:
    F(x) − F(x with xᵢ := bᵢ) − main. ``main + interaction`` is occlusion's target (leave
    one out), ``main + Σ_S f_S / |S|`` Shapley's.

On the additive part every kind except ``interaction`` (zero there) is Fᵢ(xᵢ) − Fᵢ(bᵢ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from ..covariances.quantised import QuantisedFactor
from .base import Response, correlated_draws
from .pwl import PiecewiseLinear

__all__ = ["Interacting", "TRUTH_KINDS", "draw_regions", "pilot_fields", "row_sum"]

#: the truth kinds of an interacting benchmark, in order; the first is its ``truth``
TRUTH_KINDS = ("shapley", "ig", "main", "interaction")
#: what each kind is, for the benchmark's attributes and the report
KIND_DESCRIPTIONS = {
    "shapley": "baseline Shapley value of v(S) = F(x_S, b_rest); sums to F(x) - F(b)",
    "ig": "straight-path Integrated Gradients from b to x; sums to F(x) - F(b)",
    "main": "first-order ANOVA term anchored at b, F(x_i, b_rest) - F(b); does not sum to "
            "F(x) - F(b)",
    "interaction": "the higher-order ANOVA terms cell i takes part in, each counted whole; "
                   "main + interaction = F(x) - F(x with x_i := b_i) (occlusion's target)",
}
#: pilot fields drawn to set the variance share of the interaction
PILOT = 1000


def pilot_fields(rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
                 std: np.ndarray) -> np.ndarray:
    """(PILOT, d) fields of the sampling distribution (correlation times σ), drawn in pieces
    so a 1° grid never holds more than 250 of them in float64 at once beyond the result."""
    out = np.empty((PILOT, std.size), np.float32)
    for s in range(0, PILOT, 250):
        out[s:s + 250] = (correlated_draws(rng, corr_factor, 250) * std[:, None]).T
    return out


def draw_regions(rng: np.random.Generator, d: int, size: tuple[int, int], cells: Any = None,
                 regions: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint regions of valid cells, each ordered by distance from its centre.

    ``regions`` (a label map on the grid: 1 for the first region, 2 for the second, 0 or NaN
    elsewhere) gives them; otherwise the first is the ``size[0]`` cells nearest a random valid
    cell and the second the ``size[1]`` nearest a random cell in the farther half of the grid
    from it (a remote region: a teleconnection), on the sphere when ``cells`` (a
    :class:`~xattrib.grid.CellIndex`) is given, along the cell order otherwise.
    """
    pos = _positions(d, cells)
    if regions is not None:
        labels = _labels(regions, cells, d)
        out = []
        for k in (1, 2):
            idx = np.flatnonzero(labels == k)
            if idx.size == 0:
                raise ValueError(f"regions has no valid cell labelled {k}: label the first "
                                 "region 1 and the second 2 (0 or NaN elsewhere)")
            centre = pos[idx].mean(0)
            out.append(idx[np.argsort(((pos[idx] - centre) ** 2).sum(1), kind="stable")])
        return out[0], out[1]
    n_a, n_b = (int(s) for s in size)
    if n_a < 1 or n_b < 1 or n_a + n_b > d:
        raise ValueError(f"the two regions need {n_a} + {n_b} distinct cells of the {d} "
                         "valid ones; choose smaller regions")
    c_a = int(rng.integers(d))
    dist_a = ((pos - pos[c_a]) ** 2).sum(1)
    region_a = np.argsort(dist_a, kind="stable")[:n_a]
    rest = np.setdiff1d(np.arange(d), region_a)
    far = rest[dist_a[rest] >= np.median(dist_a[rest])]
    c_b = int(far[rng.integers(far.size)])
    dist_b = ((pos[rest] - pos[c_b]) ** 2).sum(1)
    region_b = rest[np.argsort(dist_b, kind="stable")[:n_b]]
    return region_a, region_b


def _positions(d: int, cells: Any) -> np.ndarray:
    if cells is None:
        return np.arange(d, dtype=float)[:, None]
    if cells.n_cells != d:
        raise ValueError(f"cells has {cells.n_cells} valid cells, the response {d}")
    lat, lon = (np.deg2rad(v) for _, v in cells.cell_coords().values())
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], 1)


def _labels(regions: Any, cells: Any, d: int) -> np.ndarray:
    """Integer labels over the valid cells from a label map on the grid (or a (d,) array)."""
    import xarray as xr

    if isinstance(regions, xr.DataArray):
        if cells is None:
            raise ValueError("a regions map on a grid needs the benchmark's cells")
        cells.check_grid(regions, what="regions")
        vals = cells.stack(regions).values
    else:
        vals = np.asarray(regions, float).reshape(-1)
        if vals.size != d:
            raise ValueError(f"regions has {vals.size} values, the grid {d} valid cells")
    vals = np.where(np.isnan(vals), 0, vals)
    bad = ~np.isin(vals, (0, 1, 2))
    if bad.any():
        raise ValueError(f"regions must hold 1 (first region), 2 (second) and 0 or NaN "
                         f"elsewhere; found {sorted(set(vals[bad].tolist()))[:5]}")
    return vals.astype(int)


def variance_scale(additive: np.ndarray, term: np.ndarray, share: float) -> tuple[float, float]:
    """(additive factor, term factor) giving the term ``share`` of var(additive + term)
    ignoring their covariance: var(a·A) : var(t·T) = 1 − share : share."""
    if not 0 < share <= 1:
        raise ValueError(f"interaction_share must be in (0, 1], got {share!r}")
    va, vt = float(np.var(additive)), float(np.var(term))
    if vt == 0:
        raise ValueError("the drawn interaction has no variance on the pilot fields; draw "
                         "other regions (another seed) or larger ones")
    if share == 1 or va == 0:
        return (0.0 if share == 1 else 1.0), 1.0
    return 1.0, float(np.sqrt(share / (1 - share) * va / vt))


@dataclass(eq=False)
class Interacting(Response):
    """Base class: F(x) = Σᵢ Fᵢ(xᵢ) (``pwl``, parameters ``breakpoints`` and ``slopes``) plus
    a non-additive term whose exact attributions the subclass writes in closed form."""

    additive: ClassVar[bool] = False
    #: the random regions are drawn on the grid's geometry (the generator passes ``cells``)
    needs_cells: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._pwl = PiecewiseLinear({"breakpoints": self.params["breakpoints"],
                                     "slopes": self.params["slopes"]})
        self.params["breakpoints"] = self._pwl.params["breakpoints"]
        self.params["slopes"] = self._pwl.params["slopes"]

    @property
    def additive_part(self) -> PiecewiseLinear:
        return self._pwl

    def regions(self) -> np.ndarray:
        """``(d,)`` labels of the cells the non-additive term reads: 1 the first region
        (leaders of pairs, the gate), 2 the second (partners, the gated region), 0 none."""
        raise NotImplementedError

    # -- what a subclass writes --------------------------------------------------------------
    def term(self, x: np.ndarray) -> np.ndarray:
        """The non-additive term T(x), ``(n,)`` float64, with T(0) = 0."""
        raise NotImplementedError

    def term_truths(self, x: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        """Each kind of :data:`TRUTH_KINDS` of the term alone relative to ``b``, ``(n, d)``."""
        raise NotImplementedError

    # -- the response ------------------------------------------------------------------------
    def value(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        return row_sum(self._pwl(x)) + self.term(x)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The Shapley values relative to the zero baseline, ``(n, d)``: they sum to F(x)."""
        x = np.asarray(x)
        dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        return self.truths(x, np.zeros(x.shape[-1]))["shapley"].astype(dt)

    def truths(self, x: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        """Every kind of :data:`TRUTH_KINDS` relative to ``b`` (``(d,)`` or ``(n, d)``),
        ``(n, d)`` float64 each, unscaled."""
        x = np.asarray(x, np.float64)
        b = np.broadcast_to(np.asarray(b, np.float64), x.shape)
        add = self._pwl(x) - self._pwl(b)
        out = self.term_truths(x, b)
        for k in ("shapley", "ig", "main"):
            out[k] = out[k] + add
        return out

    def expectation(self, std: np.ndarray) -> np.ndarray:
        raise ValueError(f"the response family {self.name!r} has interactions: its exact "
                         "attributions are relative to a baseline input (zero, a number or a "
                         "field), not to an expectation over the inputs")

    def describe(self) -> dict[str, Any]:
        return {"response_family": self.name,
                "response_n_breakpoints": int(self.params["breakpoints"].shape[1]),
                **{f"response_{k}": float(np.asarray(self.params[k]))
                   for k in self.scalar_params}}

    @classmethod
    def with_share(cls, params: dict[str, np.ndarray], term_key: str, rng: np.random.Generator,
                   corr_factor: Any, std: np.ndarray, share: float) -> Self:
        """The response of ``params`` with its term carrying ``share`` of var(y) on pilot
        fields: the pwl slopes and ``params[term_key]`` (the term is linear in it) scaled by
        :func:`variance_scale`'s factors."""
        probe = cls(dict(params))
        x = pilot_fields(rng, corr_factor, std).astype(np.float64)
        f_a, f_t = variance_scale(probe.additive_part(x).sum(1), probe.term(x), share)
        return cls({**params, "slopes": params["slopes"] * f_a,
                    term_key: params[term_key] * f_t})

    @classmethod
    def _additive_draw(cls, rng: np.random.Generator, corr_factor: Any, std: np.ndarray,
                       n_breakpoints: int) -> PiecewiseLinear:
        return PiecewiseLinear.random(rng, corr_factor, std, n_breakpoints=n_breakpoints)


def row_sum(a: np.ndarray) -> np.ndarray:
    """Σ over the last axis, each row's value independent of the other rows.

    A column selection ``x[:, cells]`` is Fortran-ordered, and numpy sums the rows of such
    an array column by column for two rows or more but pairwise for one: a benchmark's values
    would then depend on its chunks. Made C-contiguous, every row is summed alike.
    """
    return np.ascontiguousarray(a).sum(-1)


def scatter_add(out: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
    """``out[:, cols] += values`` with repeated columns added up (a cell in several terms)."""
    if np.unique(cols).size == cols.size:
        out[:, cols] += values
    else:
        np.add.at(out.T, cols, values.T)  # rows of out.T are the cells
