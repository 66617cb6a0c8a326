"""``gating``: F(x) = Σᵢ Fᵢ(xᵢ) + G(m(x)) · Σ_{j∈B} wⱼxⱼ — region B counts only when the
mean standardised anomaly m of a gate region A is above a threshold τ.

G(m) = σ((m − τ)/s) (smooth, width s) or 1[m > τ] (sharp, s = 0). Exact attributions
relative to b, with Δ = x − b, H(x) = Σ wⱼxⱼ, D = H(x) − H(b), m_b = m(b), Δm = m(x) − m_b:

- Shapley: a cell j of B gains wⱼΔⱼ·G(T) where T is the part of A already present. In a
  random order the number of A cells before j is uniform on 0..|A| and, given k, they are a
  uniform k-subset, so φⱼ = wⱼΔⱼ · Σ_T G(T) / ((|A| + 1)·C(|A|, |T|)), summed over all 2^|A|
  subsets T of A. A cell i of A gains (G(T ∪ i) − G(T))·H(S); given |T| = k, each j of B came
  before i with probability (k + 1)/(|A| + 1), so φᵢ = Σ_{T ∌ i} (G(T ∪ i) − G(T)) ·
  (H(b) + D(|T| + 1)/(|A| + 1)) / (|A|·C(|A| − 1, |T|)). Exact, by enumeration: the gate
  region has at most :data:`MAX_GATE_CELLS` cells.
- IG: along the path, m and H are linear in t: IGⱼ = wⱼΔⱼ·Γ with Γ = ∫₀¹ G(m_b + tΔm) dt
  (softplus in closed form; for the sharp gate the fraction of the path above τ) and, by
  parts, the gate's cells share G(m_x)H(x) − G(m_b)H(b) − DΓ in proportion to aᵢΔᵢ (the
  jump of a sharp gate included: the limit of smooth gates as s → 0).
- main (ANOVA anchored at b): G(m_b)·wⱼΔⱼ on B; (G(m_b + aᵢΔᵢ) − G(m_b))·H(b) on A.
- interaction: F(x) − F(x with xᵢ := bᵢ) − main: (G(m_x) − G(m_b))·wⱼΔⱼ on B,
  (G(m_x) − G(m_x − aᵢΔᵢ))·H(x) − main on A.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit

from ..covariances.quantised import QuantisedFactor
from .base import RESPONSES, correlated_draws, no_extra
from .interacting import Interacting, draw_regions, row_sum

__all__ = ["Gating"]

#: the exact Shapley values enumerate the 2^|A| subsets of the gate region
MAX_GATE_CELLS = 12


@dataclass(eq=False)
class Gating(Interacting):
    """Additive ``pwl`` plus G(m(x))·H(x): ``gate_weight`` aᵢ (m = a·x, the mean of the gate
    region's standardised anomalies), ``gated_weight`` wⱼ (H = w·x), scalars ``threshold`` τ
    and ``width`` s (0: a sharp gate)."""

    name: ClassVar[str] = "gating"
    description: ClassVar[str] = (
        "pwl plus a gated region: Σ_B wⱼxⱼ counts when the gate region's mean standardised "
        "anomaly passes `threshold` (0.5), smoothly over `width` (0.25; 0 sharp); "
        "`gate_cells` (8, at most 12), `gated_cells`, `interaction_share` 0.5, `regions`")
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "breakpoints": ("knot",), "slopes": ("segment",), "gate_weight": (),
        "gated_weight": ()}
    scalar_params: ClassVar[tuple[str, ...]] = ("threshold", "width")

    def __post_init__(self) -> None:
        super().__post_init__()
        d = self.params["breakpoints"].shape[0]
        a = np.asarray(self.params["gate_weight"], float).reshape(-1)
        w = np.asarray(self.params["gated_weight"], float).reshape(-1)
        tau = float(np.asarray(self.params["threshold"]))
        s = float(np.asarray(self.params["width"]))
        if a.size != d or w.size != d:
            raise ValueError(f"gating needs gate_weight and gated_weight over the {d} cells")
        if not (np.isfinite(tau) and np.isfinite(s) and s >= 0):
            raise ValueError(f"gating needs a finite threshold and a width >= 0 (0: sharp), "
                             f"got {tau!r}, {s!r}")
        gate = np.flatnonzero(a)
        if not 1 <= gate.size <= MAX_GATE_CELLS:
            raise ValueError(f"the gate region has {gate.size} cells; it needs 1 to "
                             f"{MAX_GATE_CELLS} (its exact Shapley values enumerate its "
                             "subsets)")
        if np.any(w[gate] != 0):
            raise ValueError("gating: the gate region and the gated region must not overlap")
        self.params.update(gate_weight=a, gated_weight=w, threshold=np.asarray(tau),
                           width=np.asarray(s))
        self._gate, self._tau, self._s = gate, tau, s
        self._gated = np.flatnonzero(w)
        m = gate.size
        bits = (np.arange(2 ** m)[:, None] >> np.arange(m)) & 1        # (2^m, m)
        size = bits.sum(1)
        self._w_gated = np.array([1.0 / ((m + 1) * comb(m, k)) for k in size])
        self._without = [np.flatnonzero(bits[:, i] == 0) for i in range(m)]
        k = size[self._without[0]] if m else np.zeros(0, int)  # sizes of T ∌ i: same for all i
        u = np.array([1.0 / (m * comb(m - 1, int(j))) for j in k])
        self._u, self._v = u, u * (k + 1) / (m + 1)

    def regions(self) -> np.ndarray:
        out = np.zeros(self.n_cells, int)
        out[self._gate], out[self._gated] = 1, 2
        return out

    def gate(self, m: np.ndarray) -> np.ndarray:
        if self._s == 0:
            return (m > self._tau).astype(np.float64)
        return expit((m - self._tau) / self._s)

    def term(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        a, w = self.params["gate_weight"], self.params["gated_weight"]
        return (self.gate(_rowdot(x[:, self._gate], a[self._gate]))
                * _rowdot(x[:, self._gated], w[self._gated]))

    def _path_mean(self, m_b: np.ndarray, dm: np.ndarray) -> np.ndarray:
        """Γ = ∫₀¹ G(m_b + t·dm) dt."""
        tau, s = self._tau, self._s
        if s == 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (tau - m_b) / dm  # where the path crosses τ
                frac = np.where(dm > 0, np.clip(1 - t, 0, 1), np.clip(t, 0, 1))
            return np.where(dm == 0, (m_b > tau).astype(float), frac)
        z0, z1 = (m_b - tau) / s, (m_b + dm - tau) / s
        eps = z1 - z0
        small = np.abs(eps) < 1e-4
        with np.errstate(divide="ignore", invalid="ignore"):
            exact = (np.logaddexp(0, z1) - np.logaddexp(0, z0)) / eps
        g = expit(z0)  # σ(z0 + tε) to second order in ε
        series = g + g * (1 - g) * eps / 2 + g * (1 - g) * (1 - 2 * g) * eps ** 2 / 6
        return np.where(small, series, exact)

    def term_truths(self, x: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
        a, w = self.params["gate_weight"], self.params["gated_weight"]
        ga, gb = self._gate, self._gated
        dx = x - b
        da = dx[:, ga] * a[ga]                          # aᵢΔᵢ on the gate region, (n, m)
        dh = dx[:, gb] * w[gb]                          # wⱼΔⱼ on the gated region
        m_b = _rowdot(b[:, ga], a[ga])
        m_x = m_b + row_sum(da)
        h_b = _rowdot(b[:, gb], w[gb])
        big_d = row_sum(dh)
        h_x = h_b + big_d
        g_b, g_x = self.gate(m_b), self.gate(m_x)
        out = {k: np.zeros(x.shape) for k in ("shapley", "ig", "main", "interaction")}
        # Shapley: G over every subset of the gate region, per sample
        g_t = self.gate(m_b[:, None] + _subset_sums(da))              # (n, 2^m)
        out["shapley"][:, gb] = dh * _rowdot(g_t, self._w_gated)[:, None]
        for i, col in enumerate(ga):
            idx0 = self._without[i]
            diff = g_t[:, idx0 | (1 << i)] - g_t[:, idx0]
            out["shapley"][:, col] = h_b * _rowdot(diff, self._u) + big_d * _rowdot(diff, self._v)
        # IG: Γ on the gated region, the rest on the gate region in proportion to aᵢΔᵢ
        gamma = self._path_mean(m_b, m_x - m_b)
        out["ig"][:, gb] = dh * gamma[:, None]
        rest = g_x * h_x - g_b * h_b - big_d * gamma
        dm = row_sum(da)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(dm[:, None] != 0, da / dm[:, None], 0.0)
        if self._s > 0:  # Δm = 0: ∫G'(m_b)·aᵢΔᵢ·H(t) dt, G' at a fixed point
            slope = g_b * (1 - g_b) / self._s
            flat = slope[:, None] * da * (h_b + big_d / 2)[:, None]
            share_rest = np.where(dm[:, None] != 0, share * rest[:, None], flat)
        else:
            share_rest = share * rest[:, None]
        out["ig"][:, ga] = share_rest
        # functional ANOVA anchored at b
        out["main"][:, gb] = g_b[:, None] * dh
        out["main"][:, ga] = (self.gate(m_b[:, None] + da) - g_b[:, None]) * h_b[:, None]
        out["interaction"][:, gb] = (g_x - g_b)[:, None] * dh
        out["interaction"][:, ga] = ((g_x[:, None] - self.gate(m_x[:, None] - da))
                                     * h_x[:, None] - out["main"][:, ga])
        return out

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray, n_breakpoints: int = 5, interaction_share: float = 0.5,
               threshold: float = 0.5, width: float = 0.25, gate_cells: int | None = None,
               gated_cells: int | None = None, regions: Any = None, cells: Any = None,
               **kwargs: Any) -> Gating:
        """Gate region A (``gate_cells``, default min(8, d/4)) and a remote gated region B
        (``gated_cells``, default min(25, d/4)) drawn, or given as a label map (1: gate,
        2: gated); wⱼ ~ MVN(0, R)/σⱼ on B; the gated term scaled to ``interaction_share`` of
        var(y) on pilot fields."""
        no_extra(kwargs, "gating")
        std = np.asarray(std, float)
        d = std.size
        n_a = int(gate_cells) if gate_cells is not None else max(1, min(8, d // 4))
        n_b = int(gated_cells) if gated_cells is not None else max(1, min(25, d // 4))
        if not 1 <= n_a <= MAX_GATE_CELLS:
            raise ValueError(f"gate_cells must be 1 to {MAX_GATE_CELLS} (the exact Shapley "
                             f"values enumerate the gate region's subsets), got {n_a}")
        if not width >= 0:
            raise ValueError(f"width must be >= 0 (0: a sharp gate), got {width!r}")
        pwl = cls._additive_draw(rng, corr_factor, std, n_breakpoints)
        region_a, region_b = draw_regions(rng, d, (n_a, n_b), cells, regions)
        draws = correlated_draws(rng, corr_factor, 1)[:, 0]
        safe = np.where(std > 0, std, 1.0)
        a = np.zeros(d)
        a[region_a] = 1.0 / (region_a.size * safe[region_a])
        w = np.zeros(d)
        w[region_b] = draws[region_b] / safe[region_b]
        params = {**pwl.params, "gate_weight": a, "gated_weight": w,
                  "threshold": np.asarray(float(threshold)), "width": np.asarray(float(width))}
        return cls.with_share(params, "gated_weight", rng, corr_factor, std,
                              interaction_share)


def _rowdot(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Σₖ a[:, k]·v[k] row by row: a row's value never depends on the other rows (a BLAS
    matrix-vector product can block rows differently with their number; see
    :func:`~xattrib.responses.interacting.row_sum`)."""
    return row_sum(a * v)


def _subset_sums(da: np.ndarray) -> np.ndarray:
    """``(n, 2^m)``: Σ_{i ∈ T} da[:, i] for every subset T (bit i of T's index), built bit by
    bit in a fixed order (row by row, like :func:`_rowdot`)."""
    n, m = da.shape
    out = np.zeros((n, 2 ** m))
    for i in range(m):
        out[:, 2 ** i:2 ** (i + 1)] = out[:, :2 ** i] + da[:, i:i + 1]
    return out


RESPONSES.register(Gating.name, Gating)
