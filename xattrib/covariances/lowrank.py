"""The ``lowrank`` sampler: a shrunk sample covariance drawn from its d × n factor.

n standardised anomaly maps Z (n × d, column means 0, unit sample variances) have the sample
correlation S = ZᵀZ / (n − 1), of rank ≤ n − 1. Shrunk towards the identity it is

    R = (1 − δ) S + δ I = U Uᵀ + diag(s²),   U = √((1 − δ)/(n − 1)) Zᵀ,   s = √δ,

so a draw U z₁ + s ⊙ z₂ (z₁ of n, z₂ of d standard normals) has covariance exactly R at
O(d·n) memory and work, without the d × d matrix. The Ledoit–Wolf and OAS shrinkages are
closed forms in ‖S‖²_F, tr S and Σₖ‖zₖ‖⁴, all of which the n × n Gram matrix Z Zᵀ gives
(written here because scikit-learn's estimators return the d × d matrix; the tests check
both shrinkages against scikit-learn's on small data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..grid.cells import CellIndex
from .base import SAMPLERS, SamplerInfo, check_variables, matrix_guard
from .quantised import QuantisedLowRank

__all__ = ["LowRankCovariance", "ledoit_wolf_shrinkage", "oas_shrinkage"]


def _gram_stats(z: np.ndarray) -> tuple[int, int, float, float, float]:
    """(n, d, tr S, ‖S‖²_F, Σₖ‖zₖ‖⁴) of the assume-centred S = ZᵀZ / n, from the n × n Gram."""
    n, d = z.shape
    g = z @ z.T
    return n, d, float(np.trace(g)) / n, float((g * g).sum()) / n**2, float((np.diag(g) ** 2).sum())


def ledoit_wolf_shrinkage(z: np.ndarray) -> float:
    """Ledoit & Wolf's (2004) optimal shrinkage of S = ZᵀZ / n towards μI, from the Gram
    matrix (equal to ``sklearn.covariance.ledoit_wolf_shrinkage(z, assume_centered=True)``)."""
    n, d, tr, fro2, four = _gram_stats(z)
    mu = tr / d
    beta = (four / n - fro2) / (d * n)
    delta = (fro2 - 2.0 * mu * tr + d * mu**2) / d
    beta = min(beta, delta)
    return 0.0 if beta == 0 else float(beta / delta)


def oas_shrinkage(z: np.ndarray) -> float:
    """Chen et al.'s (2010) oracle approximating shrinkage of S = ZᵀZ / n, from the Gram
    matrix (scikit-learn's ``OAS(assume_centered=True).shrinkage_``)."""
    n, d, tr, fro2, _ = _gram_stats(z)
    alpha = fro2 / d**2
    mu = tr / d
    den = (n + 1) * (alpha - mu**2 / d)
    return 1.0 if den == 0 else float(min((alpha + mu**2) / den, 1.0))


@dataclass(eq=False)
class LowRankCovariance:
    """Σ = U Uᵀ + diag(s²) over the valid cells, never formed (``method="lowrank"``).

    Attributes
    ----------
    u : ndarray (d, r)
    diagonal : ndarray (d,)
        s, the standard deviation of the diagonal part.
    cells : CellIndex
    attrs : dict
        Provenance (``covariance_sampler="lowrank"``, the shrinkage, the rank).
    variables : tuple of str
        With several variables, their names (rows: each variable's cells in turn).
    """

    u: np.ndarray
    diagonal: np.ndarray
    cells: CellIndex
    attrs: dict[str, Any] = field(default_factory=dict)
    variables: tuple[str, ...] = ()
    method: ClassVar[str] = "lowrank"

    def __post_init__(self) -> None:
        self.u = np.asarray(self.u, np.float64)
        self.variables = check_variables(self.variables)
        self.diagonal = np.broadcast_to(np.asarray(self.diagonal, np.float64),
                                        (self.u.shape[0],)).copy()
        d = self.n_inputs
        if self.u.ndim != 2 or self.u.shape[0] != d:
            raise ValueError(f"the low-rank factor has shape {self.u.shape}, expected ({d}, r) "
                             "— one row per valid cell (of each variable)")
        if np.any(self.std == 0):
            raise ValueError("the low-rank covariance has cells of zero variance")
        self.attrs = {**self.attrs, "covariance_sampler": "lowrank",
                      "covariance_rank": int(self.u.shape[1])}

    @property
    def n_inputs(self) -> int:
        """Rows of Σ: the valid cells times the number of variables."""
        return self.cells.n_cells * max(len(self.variables), 1)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.einsum("ij,ij->i", self.u, self.u) + self.diagonal**2)

    @property
    def matrix(self) -> np.ndarray:
        """Σ as a d × d matrix (small grids only: tests, transformed truth spaces)."""
        matrix_guard(self.n_inputs, "lowrank")
        m = self.u @ self.u.T
        m[np.diag_indices_from(m)] += self.diagonal**2
        return m

    @property
    def correlation(self) -> np.ndarray:
        s = self.std
        return self.matrix / np.outer(s, s)

    def matmat(self, v: np.ndarray) -> np.ndarray:
        """Σ v = U (Uᵀ v) + s² ⊙ v for ``v`` ``(d, m)``, never forming Σ."""
        v = np.asarray(v, float)
        return self.u @ (self.u.T @ v) + (self.diagonal**2)[:, None] * v

    def quadratic(self, a: np.ndarray) -> np.ndarray:
        """diag(A Σ Aᵀ) for rows ``a`` ``(K, d)``: each row's variance."""
        a = np.asarray(a, float)
        return ((a @ self.u) ** 2).sum(1) + (a * a) @ (self.diagonal**2)

    def draws(self) -> QuantisedLowRank:
        return QuantisedLowRank.from_factors(self.u, self.diagonal)

    def correlation_draws(self) -> QuantisedLowRank:
        s = self.std
        return QuantisedLowRank.from_factors(self.u / s[:, None], self.diagonal / s)


def from_standardised(z: np.ndarray, cells: CellIndex, std: np.ndarray, kind: str,
                      shrinkage: str | float | None, attrs: dict[str, Any],
                      variables: tuple[str, ...] = ()) -> LowRankCovariance:
    """The shrunk correlation (``kind="correlation"``) or covariance of standardised maps
    ``z`` (n × d, column means 0, unit variances with ddof 1) as a :class:`LowRankCovariance`."""
    n, d = z.shape
    if shrinkage == "ledoit_wolf":
        delta = ledoit_wolf_shrinkage(z)
    elif shrinkage == "oas":
        delta = oas_shrinkage(z)
    elif shrinkage is None:
        raise ValueError(f"the sample correlation of {n} samples over {d} cells is singular "
                         "(rank below the number of cells); use shrinkage='ledoit_wolf' "
                         "(default), 'oas' or a float in (0, 1]")
    else:
        delta = float(shrinkage)
        if not 0.0 < delta <= 1.0:
            raise ValueError("the low-rank sampler needs shrinkage in (0, 1] (0 leaves the "
                             f"rank-{n - 1} sample correlation singular), got {delta}")
    if shrinkage in ("ledoit_wolf", "oas") and delta == 0:
        raise ValueError(f"{shrinkage} chose no shrinkage for {n} samples over {d} cells, "
                         "which leaves the low-rank estimate singular; pass a float shrinkage")
    u = np.sqrt((1.0 - delta) / (n - 1)) * z.T
    s = np.full(d, np.sqrt(delta))
    if kind == "covariance":
        u, s = u * std[:, None], s * std
    attrs = {**attrs, "covariance_shrinkage_method": shrinkage if isinstance(shrinkage, str)
             else "fixed", "covariance_shrinkage": float(delta)}
    return LowRankCovariance(np.ascontiguousarray(u), s, cells, attrs, variables)


SAMPLERS.register("lowrank", SamplerInfo(
    "shrunk sample covariance U Uᵀ + diag(s²) of n maps (d × n), exact like dense",
    "data (n anomaly maps)", "everywhere (exact integer products)"))
