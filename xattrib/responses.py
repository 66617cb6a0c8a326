"""Additively separable response functions y = scale · Σᵢ Fᵢ(xᵢ), with Fᵢ(0) = 0.

Each family is a small object holding per-cell parameters (arrays with the cell axis first),
evaluated on plain ``(n, d)`` arrays, serialised into a benchmark Dataset and rebuilt from
it, so ``F`` can be evaluated again on new inputs (the original archive could not).

Families
--------
``pwl``
    Mamalakis et al. (2022): K breakpoints per cell (one at 0), K + 1 slopes, all spatially
    correlated MVN draws; Fᵢ(x) = ∫₀ˣ slopeᵢ.
``linear``
    Fᵢ(x) = wᵢ·x: every sensible attribution method must be exact on it.
``tanh``
    Fᵢ(x) = aᵢ·[tanh(cᵢ(x − tᵢ)) + tanh(cᵢtᵢ)]: smooth, saturating, with a spatially
    correlated threshold tᵢ and amplitude aᵢ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr

from .exact import Z_BITS, QuantisedFactor

__all__ = ["RESPONSES", "Linear", "PiecewiseLinear", "Response", "Tanh", "response_from_params"]


def _correlated_draws(rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
                      k: int) -> np.ndarray:
    """(d, k): k independent MVN(0, R) fields (R = L Lᵀ), one column each.

    Exact products (:mod:`xattrib.exact`): the parameters, like the samples, must not depend
    on the BLAS thread count.
    """
    if not isinstance(corr_factor, QuantisedFactor):
        corr_factor = QuantisedFactor.from_matrix(corr_factor)
    return corr_factor.draw(rng, k).T


def _separate_ties(draws: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Sorted, strictly increasing knots per row: the draws plus the knot at exactly 0.

    Draws are quantised (:mod:`xattrib.exact`), so two knots of a cell, or a knot and 0, can
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
class Response:
    """Base class: per-cell functions Fᵢ with Fᵢ(0) = 0 evaluated on ``(n, d)`` arrays."""

    name: ClassVar[str] = ""
    #: extra dims of each parameter (after the cell axis), for serialisation
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {}
    params: dict[str, np.ndarray]

    @property
    def n_cells(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Fᵢ(xᵢ) for every sample and cell: ``(n, d) -> (n, d)`` (same dtype as ``x``)."""
        raise NotImplementedError

    def expectation(self, std: np.ndarray) -> np.ndarray:
        """E[Fᵢ(Xᵢ)] for Xᵢ ~ N(0, stdᵢ²), per cell. Gauss–Hermite (80 nodes) by default."""
        t, w = np.polynomial.hermite_e.hermegauss(80)  # probabilists': weight exp(-t²/2)
        vals = self(np.asarray(std, float)[None, :] * t[:, None])
        return (w[:, None] * vals).sum(0) / np.sqrt(2 * np.pi)

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray,
               **kwargs: Any) -> Response:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"response_family": self.name}

    def __dask_tokenize__(self) -> tuple:
        return (self.name, *[(k, v.tobytes()) for k, v in sorted(self.params.items())])


@dataclass(eq=False)
class PiecewiseLinear(Response):
    """The original piecewise-linear family (closed form, vectorised).

    ``breakpoints`` (d, K) sorted with one exact 0 per cell; ``slopes`` (d, K + 1).
    Evaluated as Fᵢ(x) = aᵢₖ + wᵢₖ·x on the segment k containing x, with intercepts chosen so
    that F is continuous and the segment ending at 0 has aᵢₖ = 0, which makes Fᵢ(0) = 0 exact.
    """

    name: ClassVar[str] = "pwl"
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
        _no_extra(kwargs, "pwl")
        k = int(n_breakpoints)
        if k < 1:
            raise ValueError(f"n_breakpoints must be at least 1 (the one at 0), got {k}")
        std = np.asarray(std, float)
        draws = _correlated_draws(rng, corr_factor, k - 1) * std[:, None]
        bp = _separate_ties(draws, np.where(std > 0, std, 1.0) * 2.0 ** -Z_BITS)
        slopes = _correlated_draws(rng, corr_factor, k + 1)
        return cls({"breakpoints": bp, "slopes": slopes})

    def describe(self) -> dict[str, Any]:
        return {"response_family": self.name,
                "response_n_breakpoints": int(self.params["breakpoints"].shape[1])}


@dataclass(eq=False)
class Linear(Response):
    """Fᵢ(x) = wᵢ·x. Every complete attribution method must recover wᵢ(xᵢ − bᵢ) exactly."""

    name: ClassVar[str] = "linear"
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {"weights": ()}

    def __post_init__(self) -> None:
        self.params = {"weights": np.asarray(self.params["weights"], float).reshape(-1)}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return x * self.params["weights"].astype(x.dtype if x.dtype.kind == "f" else float)

    def expectation(self, std: np.ndarray) -> np.ndarray:
        return np.zeros(self.n_cells)

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray,
               **kwargs: Any) -> Linear:
        _no_extra(kwargs, "linear")
        return cls({"weights": _correlated_draws(rng, corr_factor, 1)[:, 0]})


@dataclass(eq=False)
class Tanh(Response):
    """Fᵢ(x) = aᵢ·[tanh(cᵢ(x − tᵢ)) + tanh(cᵢtᵢ)], smooth and saturating; Fᵢ(0) = 0."""

    name: ClassVar[str] = "tanh"
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "amplitude": (), "threshold": (), "steepness": ()}

    def __post_init__(self) -> None:
        self.params = {k: np.asarray(self.params[k], float).reshape(-1)
                       for k in ("amplitude", "threshold", "steepness")}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        dt = x.dtype if x.dtype.kind == "f" else np.dtype(float)
        a, t, c = (self.params[k].astype(dt) for k in ("amplitude", "threshold", "steepness"))
        return a * (np.tanh(c * (x - t)) + np.tanh(c * t))

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray,
               sharpness: float = 2.0, **kwargs: Any) -> Tanh:
        """Amplitude and threshold (× σᵢ/2) are MVN(0, R) draws; steepness = sharpness / σᵢ."""
        _no_extra(kwargs, "tanh")
        if not sharpness > 0:
            raise ValueError(f"sharpness must be positive, got {sharpness!r}")
        draws = _correlated_draws(rng, corr_factor, 2)
        std = np.asarray(std, float)
        return cls({"amplitude": draws[:, 0], "threshold": 0.5 * std * draws[:, 1],
                    "steepness": sharpness / std})


def _no_extra(kwargs: dict[str, Any], family: str) -> None:
    if kwargs:
        raise TypeError(f"unexpected parameters for response {family!r}: {sorted(kwargs)}")


RESPONSES: dict[str, type[Response]] = {c.name: c for c in (PiecewiseLinear, Linear, Tanh)}


def response_from_params(family: str, params: dict[str, np.ndarray]) -> Response:
    """Rebuild a response of ``family`` from its parameter arrays (cell axis first)."""
    if family not in RESPONSES:
        raise ValueError(f"unknown response family {family!r}; choose from {sorted(RESPONSES)}")
    return RESPONSES[family](params)
