"""``pairs``: teleconnection pairs, F(x) = Σᵢ Fᵢ(xᵢ) + Σ_pairs cₚ · xᵢᵖ · xⱼ^q.

Each cell i of a first region is paired with a cell j of a remote second region (the i-th
nearest to one centre with the i-th nearest to the other); the pair adds the product of their
anomalies (powers p and q, standardised by the cells' spread), with a spatially correlated
coupling, scaled so the products carry ``interaction_share`` of the variance of y.

Exact attributions (relative to b, for one term f(u, v) = c·uᵖ·v^q, Δ = x − b):
main_i = f(xᵢ, bⱼ) − f(bᵢ, bⱼ); the interaction I = f(xᵢ, xⱼ) − f(xᵢ, bⱼ) − f(bᵢ, xⱼ) +
f(bᵢ, bⱼ), counted whole for each cell; Shapley = main + I/2; IG = ∫₀¹ ∂ᵢf(b + tΔ)Δᵢ dt, a
polynomial in t, integrated exactly by Gauss–Legendre.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..covariances.quantised import QuantisedFactor
from .base import RESPONSES, correlated_draws, no_extra
from .interacting import (
    Interacting,
    draw_regions,
    row_sum,
    scatter_add,
)

__all__ = ["Pairs"]

#: the highest power of one factor (Gauss–Legendre with 3 nodes is exact to degree 5)
MAX_POWER = 3


@dataclass(eq=False)
class Pairs(Interacting):
    """Additive ``pwl`` plus products c·xᵢᵖ·xⱼ^q over pairs of cells of two regions.

    ``partner`` (d,) is the valid-cell index of cell i's partner (−1: none), ``coupling``
    (d,) the coefficient c of i's product (on standardised anomalies folded in), ``exponent``
    (d,) each cell's power in its products.
    """

    name: ClassVar[str] = "pairs"
    description: ClassVar[str] = (
        "pwl plus teleconnection products c·xᵢᵖ·xⱼ^q between the cells of two regions "
        "(`powers` (1, 1), `interaction_share` 0.5 of var y, `region_cells`, `regions`)")
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "breakpoints": ("knot",), "slopes": ("segment",), "partner": (), "coupling": (),
        "exponent": ()}

    def __post_init__(self) -> None:
        super().__post_init__()
        d = self.params["breakpoints"].shape[0]
        partner = np.asarray(self.params["partner"], float).reshape(-1)
        coupling = np.asarray(self.params["coupling"], float).reshape(-1)
        exponent = np.asarray(self.params["exponent"], float).reshape(-1)
        if not (partner.size == coupling.size == exponent.size == d):
            raise ValueError(f"pairs needs partner, coupling and exponent over the {d} cells")
        if np.any(partner != np.round(partner)) or np.any((partner < -1) | (partner >= d)):
            raise ValueError("pairs partner must hold valid-cell indices or -1 (no partner)")
        lead = np.flatnonzero(partner >= 0)
        part = partner[lead].astype(np.intp)
        if np.any(part == lead):
            raise ValueError("pairs: a cell cannot be its own partner")
        used = np.union1d(lead, part)
        if np.any((exponent[used] < 1) | (exponent[used] > MAX_POWER)
                  | (exponent[used] != np.round(exponent[used]))):
            raise ValueError(f"pairs exponents must be whole numbers from 1 to {MAX_POWER}")
        self.params.update(partner=partner, coupling=coupling, exponent=exponent)
        self._lead, self._part = lead, part
        self._c = coupling[lead]
        self._p, self._q = exponent[lead], exponent[part]

    def regions(self) -> np.ndarray:
        out = np.zeros(self.n_cells, int)
        out[self._part] = 2
        out[self._lead] = 1
        return out

    def _f(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self._c * u ** self._p * v ** self._q

    def term(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        return row_sum(self._f(x[:, self._lead], x[:, self._part]))

    def term_truths(self, x: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        lead, part = self._lead, self._part
        xi, xj, bi, bj = x[:, lead], x[:, part], b[:, lead], b[:, part]
        f_bb = self._f(bi, bj)
        main_i, main_j = self._f(xi, bj) - f_bb, self._f(bi, xj) - f_bb
        inter = self._f(xi, xj) - f_bb - main_i - main_j
        t, w = np.polynomial.legendre.leggauss(3)
        t, w = 0.5 * (t + 1), 0.5 * w                     # on [0, 1]
        ui = bi[..., None] + t * (xi - bi)[..., None]      # (n, pairs, nodes)
        uj = bj[..., None] + t * (xj - bj)[..., None]
        c, p, q = (a[:, None] for a in (self._c, self._p, self._q))
        ig_i = row_sum(c * p * ui ** (p - 1) * uj ** q * w) * (xi - bi)
        ig_j = row_sum(c * q * ui ** p * uj ** (q - 1) * w) * (xj - bj)
        out = {k: np.zeros(x.shape) for k in ("shapley", "ig", "main", "interaction")}
        for cols, main, ig in ((lead, main_i, ig_i), (part, main_j, ig_j)):
            scatter_add(out["main"], cols, main)
            scatter_add(out["interaction"], cols, inter)
            scatter_add(out["shapley"], cols, main + 0.5 * inter)
            scatter_add(out["ig"], cols, ig)
        return out

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray, n_breakpoints: int = 5, interaction_share: float = 0.5,
               powers: tuple[int, int] | list[int] = (1, 1), region_cells: int | None = None,
               regions: Any = None, cells: Any = None, **kwargs: Any) -> Pairs:
        """Regions drawn (or given as a label map: 1 and 2), paired by rank of distance from
        their centres; couplings c ~ MVN(0, R) on the first region's cells; the pwl part as
        in ``pwl``; the products scaled to ``interaction_share`` of var(y) on pilot fields
        (1: products only)."""
        no_extra(kwargs, "pairs")
        std = np.asarray(std, float)
        d = std.size
        p, q = _powers(powers)
        size = int(region_cells) if region_cells is not None else max(1, min(25, d // 20))
        pwl = cls._additive_draw(rng, corr_factor, std, n_breakpoints)
        region_a, region_b = draw_regions(rng, d, (size, size), cells, regions)
        k = min(region_a.size, region_b.size)
        lead, part = region_a[:k], region_b[:k]
        draws = correlated_draws(rng, corr_factor, 1)[:, 0]
        partner = np.full(d, -1.0)
        partner[lead] = part
        exponent = np.zeros(d)
        exponent[lead], exponent[part] = p, q
        coupling = np.zeros(d)
        safe = np.where(std > 0, std, 1.0)
        coupling[lead] = draws[lead] / (safe[lead] ** p * safe[part] ** q)
        params = {**pwl.params, "partner": partner, "coupling": coupling,
                  "exponent": exponent}
        return cls.with_share(params, "coupling", rng, corr_factor, std,
                              interaction_share)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "response_n_pairs": int(self._lead.size)}


def _powers(powers: Any) -> tuple[int, int]:
    try:
        p, q = (int(v) for v in powers)
    except (TypeError, ValueError):
        raise ValueError(f"powers must be two whole numbers (p, q), got {powers!r}") from None
    if not (1 <= p <= MAX_POWER and 1 <= q <= MAX_POWER) or (p, q) != tuple(powers):
        raise ValueError(f"powers must be whole numbers from 1 to {MAX_POWER}, got {powers!r}")
    return p, q


RESPONSES.register(Pairs.name, Pairs)
