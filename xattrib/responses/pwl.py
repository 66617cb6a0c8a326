"""``pwl``: the piecewise-linear family of Mamalakis et al. (2022).

K breakpoints per cell (one at 0), K + 1 slopes, all spatially correlated MVN draws;
Fᵢ(x) = ∫₀ˣ slopeᵢ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr

from ..covariances.quantised import Z_BITS, QuantisedFactor
from .base import RESPONSES, Response, correlated_draws, no_extra, ramp_layers

__all__ = ["PiecewiseLinear"]

def _separate_ties(draws: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Sorted, strictly increasing knots per row: the draws plus the knot at exactly 0.

    Draws are quantised (:mod:`xattrib.covariances.quantised`), so two knots of a cell, or a knot and 0, can
    coincide with small but non-zero probability (one cell in ~15 000 with 4 draws on an
    identity correlation). Coincident knots are moved apart by ``step`` (one quantum of the
    draws, in the cell's units), away from the knot at 0, which stays exactly at 0. Draws
    equal to 0 count as positive. Deterministic, so the seed still fixes every value.
    """
    out = np.sort(np.concatenate([draws, np.zeros((draws.shape[0], 1))], 1), axis=1)
    for i in np.flatnonzero(np.any(np.diff(out, axis=1) <= 0, axis=1)):  # rare rows only
        lo = np.sort(draws[i][draws[i] < 0])[::-1]  # nearest to 0 first
        hi = np.sort(draws[i][draws[i] >= 0])
        for j in range(lo.size):
            lo[j] = min(lo[j], (lo[j - 1] if j else 0.0) - step[i])
        for j in range(hi.size):
            hi[j] = max(hi[j], (hi[j - 1] if j else 0.0) + step[i])
        out[i] = np.concatenate([lo[::-1], [0.0], hi])
    return out



@dataclass(eq=False)
class PiecewiseLinear(Response):
    """The original piecewise-linear family (closed form, vectorised).

    ``breakpoints`` (d, K) sorted with one exact 0 per cell; ``slopes`` (d, K + 1).
    Evaluated as Fᵢ(x) = aᵢₖ + wᵢₖ·x on the segment k containing x, with intercepts chosen so
    that F is continuous and the segment ending at 0 has aᵢₖ = 0, which makes Fᵢ(0) = 0 exact.
    """

    name: ClassVar[str] = "pwl"
    description: ClassVar[str] = (
        'piecewise linear (the original benchmark): K = `n_breakpoints` (5) knots, one at 0; knots and K + 1 slopes are spatially correlated MVN draws')
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "breakpoints": ("knot",), "slopes": ("segment",)}

    def __post_init__(self) -> None:
        bp = np.asarray(self.params["breakpoints"], float)
        w = np.asarray(self.params["slopes"], float)
        if bp.ndim != 2 or w.shape != (bp.shape[0], bp.shape[1] + 1):
            raise ValueError("pwl needs breakpoints (d, K) and slopes (d, K + 1)")
        if np.any(np.diff(bp, axis=1) <= 0):
            raise ValueError("pwl breakpoints must be strictly increasing in every cell")
        if not np.all(np.any(bp == 0.0, axis=1)):
            raise ValueError("pwl needs one breakpoint exactly at 0 in every cell (F(0) = 0)")
        self.params = {"breakpoints": bp, "slopes": w}
        # F at each breakpoint, by integrating the slopes from 0 (F(0) = 0)
        d, k = bp.shape
        zero = np.argmax(bp == 0.0, axis=1)
        f_bp = np.zeros((d, k))
        for j in range(k):  # K is small (5): a loop over knots, vectorised over cells
            lo = np.minimum(bp[:, j], 0.0)
            hi = np.maximum(bp[:, j], 0.0)
            # integral of the slope from 0 to bp_j = Σ_segments w_s · |overlap|·sign
            edges = np.concatenate([np.full((d, 1), -np.inf), bp, np.full((d, 1), np.inf)], 1)
            overlap = np.clip(np.minimum(edges[:, 1:], hi[:, None])
                              - np.maximum(edges[:, :-1], lo[:, None]), 0.0, None)
            f_bp[:, j] = np.sign(bp[:, j]) * (w * overlap).sum(1)
        f_bp[np.arange(d), zero] = 0.0
        # segment s spans (bp_{s-1}, bp_s]; anchor it at its right knot, the last one at its left
        anchor = np.concatenate([np.arange(k), [k - 1]])
        inter = f_bp[:, anchor] - w * bp[:, anchor]
        self._intercepts = inter
        self._cache: dict[Any, tuple[np.ndarray, ...]] = {}

    def _tables(self, dtype: np.dtype) -> tuple[np.ndarray, ...]:
        if dtype not in self._cache:
            bp = self.params["breakpoints"]
            d, k = bp.shape
            if k + 1 > 255:
                raise ValueError(f"pwl supports at most 254 breakpoints, got {k}")
            self._cache[dtype] = (
                np.ascontiguousarray(bp.T.astype(dtype)),          # (K, d) for broadcasting
                self.params["slopes"].astype(dtype).ravel(),
                self._intercepts.astype(dtype).ravel(),
                (np.arange(d) * (k + 1)).astype(np.intp),
            )
        return self._cache[dtype]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
        x = x.astype(dtype, copy=False)
        bp_t, w, a, offs = self._tables(dtype)
        seg = np.zeros(x.shape, dtype=np.uint8)  # K < 255; small type = less memory traffic
        for knot in bp_t:  # segment index = number of knots strictly below x
            seg += x > knot
        idx = seg + offs  # flat index into the (d, K + 1) tables
        return a[idx] + w[idx] * x

    def expectation(self, std: np.ndarray) -> np.ndarray:
        """Closed form: Σₖ wₖ (E[clip(X, loₖ, hiₖ)] − clip(0, loₖ, hiₖ)), X ~ N(0, σ²)."""
        bp, w = self.params["breakpoints"], self.params["slopes"]
        d = bp.shape[0]
        s = np.asarray(std, float)[:, None]
        lo = np.concatenate([np.full((d, 1), -np.inf), bp], 1)
        hi = np.concatenate([bp, np.full((d, 1), np.inf)], 1)

        def phi(z: np.ndarray) -> np.ndarray:
            finite = np.where(np.isfinite(z), z, 0.0)  # ±inf edges: density 0, no overflow
            return np.where(np.isfinite(z), np.exp(-0.5 * np.square(finite)) /
                            np.sqrt(2 * np.pi), 0.0)

        zl, zh = lo / s, hi / s
        term_lo = np.where(np.isfinite(lo), np.nan_to_num(lo) * ndtr(zl), 0.0)
        term_hi = np.where(np.isfinite(hi), np.nan_to_num(hi) * (1 - ndtr(zh)), 0.0)
        e_clip = term_lo + term_hi + s * (phi(zl) - phi(zh))
        return (w * (e_clip - np.clip(0.0, lo, hi))).sum(1)

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray,
               n_breakpoints: int = 5, **kwargs: Any) -> PiecewiseLinear:
        """Breakpoints and slopes as in Mamalakis et al. (2022).

        K − 1 breakpoints per cell are spatially correlated MVN(0, R) draws scaled by the
        cell's standard deviation (the Gaussian quantile mapping of the original), plus one at
        0; K + 1 slopes are MVN(0, R) draws.
        """
        no_extra(kwargs, "pwl")
        k = int(n_breakpoints)
        if k < 1:
            raise ValueError(f"n_breakpoints must be at least 1 (the one at 0), got {k}")
        std = np.asarray(std, float)
        draws = correlated_draws(rng, corr_factor, k - 1) * std[:, None]
        bp = _separate_ties(draws, np.where(std > 0, std, 1.0) * 2.0 ** -Z_BITS)
        slopes = correlated_draws(rng, corr_factor, k + 1)
        return cls({"breakpoints": bp, "slopes": slopes})

    def describe(self) -> dict[str, Any]:
        return {"response_family": self.name,
                "response_n_breakpoints": int(self.params["breakpoints"].shape[1])}

    @classmethod
    def exact_hidden(cls, n_knots: int) -> int:
        return int(n_knots) + 2

    def exact_shape(self) -> int:
        return int(self.params["breakpoints"].shape[1])

    def exact_layers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Fᵢ(x) = w₀x + Σₖ Δₖ·ReLU(x − bₖ) + cᵢ, Δₖ the slope change at knot bₖ and cᵢ
        making Fᵢ(0) = 0."""
        bp, slopes = self.params["breakpoints"], self.params["slopes"]
        delta = np.diff(slopes, axis=1)                    # (d, K) slope changes
        const = -(delta * np.maximum(-bp, 0.0)).sum(1)     # makes F(0) = 0
        return ramp_layers(bp, delta, slopes[:, 0], const, bp.min(1) - 1.0)


RESPONSES.register(PiecewiseLinear.name, PiecewiseLinear)
