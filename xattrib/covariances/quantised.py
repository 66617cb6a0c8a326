"""Correlated Gaussian draws whose values do not depend on BLAS, threads or hardware.

Why this exists: a float32 matrix product z @ Lᵀ rounds differently with the number of BLAS
threads (OpenBLAS partitions the output among threads, and edge tiles use other micro-kernels:
151 487 of the 450 000 values of one 1000 × 450 block changed between 1 and 2 threads, by up
to 1.2e-6), and BLAS thread limits are process-wide, so concurrent dask tasks changed each
other's thread count and whole seeded blocks came out different. No library offers a
reproducible GEMM, so it is made exact here instead of merely repeatable:

- the standard normals z are rounded to the grid 2⁻¹⁶ (clipped to ±16, a 10⁻⁵⁷ event) and the
  factor L to a grid of 2⁻ᵇ times a power of two, with b chosen so that every product and
  every partial sum is an integer below 2⁵³;
- the product of those integer-valued float64 arrays is then *exact* in any order, with or
  without FMA, on any number of threads and any BLAS, and scaling by powers of two is exact;
- the result is rounded once to the output dtype (so float32 samples are exactly the float64
  samples rounded).

The quantisation moves x by at most ~2·10⁻⁵ standard deviations, far below sampling noise.
When L is lower triangular (a Cholesky factor), only the blocks of Lᵀ that can be non-zero
are multiplied.

The factor itself comes from LAPACK, whose blocked Cholesky also rounds differently with the
thread count: :func:`xattrib.parallel.one_blas_thread` pins the calling thread's BLAS to one thread while it
is computed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["QuantisedFactor", "QuantisedLowRank", "Z_BITS", "Z_CLIP", "scratch_buffer"]

#: fractional bits kept of each standard normal draw, and the clip (in σ) that bounds them
Z_BITS = 16
Z_CLIP = 16.0
_MANTISSA = 53


_local = threading.local()


def scratch_buffer(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A per-thread work array, reused across blocks: fresh multi-MB arrays for every block
    cost page faults that made generation 1.7x slower on a 2-core VM."""
    key = (name, tuple(shape), np.dtype(dtype).str)
    buf = getattr(_local, "bufs", None)
    if buf is None:
        buf = _local.bufs = {}
    if key not in buf:
        if len(buf) > 8:
            buf.clear()
        buf[key] = np.empty(shape, dtype)
    return buf[key]


def _pow2_at_least(v: float) -> float:
    return float(2.0 ** np.ceil(np.log2(v))) if v > 0 else 1.0


class _ExactDraws:
    """What both exact factors share: drawing float32 normals and the final exact scaling."""

    scale: float
    bits: int

    @property
    def n_normals(self) -> int:
        raise NotImplementedError

    def apply(self, z: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        raise NotImplementedError

    def _scaled(self, prod: np.ndarray, dtype: Any) -> np.ndarray:
        # one pass: the exact power-of-two scaling and the single rounding to dtype
        return np.multiply(prod, self.scale * 2.0 ** -(self.bits + Z_BITS),
                           out=np.empty(prod.shape, dtype), casting="same_kind")

    def draw(self, rng: np.random.Generator, n: int, dtype: Any = np.float64) -> np.ndarray:
        """``n`` exact correlated draws from ``rng``'s float32 standard normals."""
        z = scratch_buffer("z", (n, self.n_normals), np.float32)
        rng.standard_normal(out=z, dtype=np.float32)
        return self.apply(z, dtype)


def _bits_for(rows: float, what: str) -> int:
    """Fractional bits that keep |Σ_k z_k L_jk| ≤ z_int · 2^bits · rows < 2^53 (one bit of
    margin for rounding), ``rows`` = max_j Σ_k |L_jk| / scale."""
    z_int = Z_CLIP * 2**Z_BITS
    bits = int(np.floor(_MANTISSA - 1 - np.log2(z_int) - np.log2(max(rows, 1.0))))
    if bits < 8:
        raise ValueError(f"{what} is too large for exact draws (fewer than 8 bits of "
                         "precision would remain)")
    return bits


@dataclass(eq=False)
class QuantisedFactor(_ExactDraws):
    """A factor L (Σ = L Lᵀ) stored on an integer grid so that z @ Lᵀ is exact.

    Build it with :meth:`from_matrix`; :meth:`apply` maps float32 standard normals
    ``(n, d)`` to exact float64 correlated draws ``(n, d)``.
    """

    ints: np.ndarray           # L / scale · 2^bits, integer-valued float64 (d, d)
    scale: float               # a power of two ≥ max |L|
    bits: int                  # fractional bits of L / scale
    lower: bool                # L is lower triangular (use trmm)
    _panels: list[tuple[int, slice, np.ndarray]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Column panels of Lᵀ, each with only the rows that can be non-zero: output column j
        # of z @ Lᵀ needs z[:, :j+1] when L is lower triangular. Eight panels do 9/16 of a full
        # GEMM's flops. (BLAS trmm does 1/2, but scipy's wrapper holds the GIL, so dask's
        # threads ran one at a time; numpy's matmul releases it.) Eight panels: 9/16.
        d, d_in = self.ints.shape
        lt = self.ints.T
        edges = np.linspace(0, d, (8 if self.lower else 1) + 1).round().astype(int)
        self._panels = [(int(e) if self.lower else d_in, slice(int(s), int(e)),
                         np.ascontiguousarray(lt[: (int(e) if self.lower else d_in),
                                                 int(s):int(e)]))
                        for s, e in zip(edges[:-1], edges[1:], strict=True) if e > s]

    @classmethod
    def from_matrix(cls, factor: np.ndarray, square: bool = True) -> QuantisedFactor:
        """Quantise ``factor`` with as many bits as keep every sum below 2⁵³.

        ``square=False`` accepts a ``(k, d)`` matrix: :meth:`apply` then maps ``(n, d)``
        normals to ``(n, k)`` exact values (e.g. transformed features of the same draws).
        """
        factor = np.asarray(factor, dtype=np.float64)
        if factor.ndim != 2 or (square and factor.shape[0] != factor.shape[1]):
            raise ValueError(f"a covariance factor must be square, got shape {factor.shape}")
        if not np.all(np.isfinite(factor)):
            raise ValueError("the covariance factor contains NaN or inf")
        scale = _pow2_at_least(float(np.abs(factor).max()))
        rows = float((np.abs(factor) / scale).sum(1).max())  # max_j Σ_k |L_jk| / scale
        bits = _bits_for(rows, f"a factor over {factor.shape[0]} cells")
        z_int = Z_CLIP * 2**Z_BITS
        ints = np.rint(factor / scale * 2.0**bits)
        lower = ints.shape[0] == ints.shape[1] and bool(np.all(np.triu(ints, 1) == 0))
        assert float(np.abs(ints).sum(1).max()) * z_int < 2.0**_MANTISSA
        return cls(ints, scale, bits, lower)

    @property
    def n_cells(self) -> int:
        return int(self.ints.shape[0])

    @property
    def n_normals(self) -> int:
        """Standard normals one draw takes."""
        return int(self.ints.shape[1])

    def matrix(self) -> np.ndarray:
        """The quantised factor as real numbers (what the draws actually use)."""
        return self.ints * (self.scale * 2.0**-self.bits)

    def left_product(self, a: np.ndarray) -> np.ndarray:
        """A L for rows ``a`` ``(K, d)``: ``(K, n_normals)``."""
        return np.atleast_2d(np.asarray(a, np.float64)) @ self.matrix()

    def apply(self, z: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """Exact correlated draws ``(n, d)`` from standard normals ``z`` ``(n, d)``.

        ``z`` (float32 or float64) is quantised to the grid 2⁻¹⁶; the exact float64 result is
        rounded once to ``dtype``. Nothing depends on the BLAS, its thread count or the order
        of summation.
        """
        zd = _quantise_z(z, "z")
        prod = scratch_buffer("prod", (zd.shape[0], self.ints.shape[0]), np.float64)
        for k, cols, panel in self._panels:
            np.matmul(zd[:, :k], panel, out=prod[:, cols])
        return self._scaled(prod, dtype)

    def token(self) -> tuple:
        return (self.scale, self.bits, self.ints.tobytes())


def _quantise_z32(z: np.ndarray, name: str) -> np.ndarray:
    """Standard normals on the grid 2⁻¹⁶, as integers in float32: clip (a 1e-57 event per
    value, but it keeps the bound exact), scale by a power of two and round, all exact in
    float32 (|values| ≤ 2^20 < 2^24)."""
    zq = scratch_buffer(name + "q", z.shape, np.float32)
    np.clip(z, -Z_CLIP, Z_CLIP, out=zq)
    zq *= np.float32(2**Z_BITS)
    np.rint(zq, out=zq)
    return zq


def _quantise_z(z: np.ndarray, name: str) -> np.ndarray:
    """:func:`_quantise_z32`, widened to integer-valued float64 (see :class:`QuantisedFactor`)."""
    zq = _quantise_z32(z, name)
    zd = scratch_buffer(name + "d", z.shape, np.float64)
    zd[...] = zq
    return zd


@dataclass(eq=False)
class QuantisedLowRank(_ExactDraws):
    """A low-rank-plus-diagonal factor ``[U | diag(s)]`` (Σ = U Uᵀ + diag(s²)), exact like
    :class:`QuantisedFactor` but never forming a d × d matrix.

    A draw takes ``r + d`` standard normals ``(z_u, z_s)`` and returns ``U z_u + s ⊙ z_s``.
    U and s share one power-of-two scale and one number of fractional bits, chosen so that
    ``max_j (Σ_k |U_jk| + |s_j|)`` times the largest quantised normal stays below 2⁵³: every
    product and partial sum is then an integer-valued float64, exact in any order — the
    same numbers on any BLAS, thread count or machine. Cost per draw O(d·r).
    """

    u_ints: np.ndarray      # (d, r) integer-valued float64
    s_ints: np.ndarray      # (d,)
    scale: float
    bits: int
    _ut: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ut = np.ascontiguousarray(self.u_ints.T)

    @classmethod
    def from_factors(cls, u: np.ndarray, s: np.ndarray) -> QuantisedLowRank:
        u = np.asarray(u, np.float64)
        s = np.asarray(s, np.float64)
        if u.ndim != 2 or s.shape != (u.shape[0],):
            raise ValueError(f"a low-rank factor needs U (d, r) and s (d,), got {u.shape} and "
                             f"{s.shape}")
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(s))):
            raise ValueError("the low-rank covariance factor contains NaN or inf")
        scale = _pow2_at_least(max(float(np.abs(u).max(initial=0.0)), float(np.abs(s).max())))
        rows = float(((np.abs(u).sum(1) + np.abs(s)) / scale).max())
        bits = _bits_for(rows, f"a low-rank factor of rank {u.shape[1]}")
        q = scale * 2.0**-bits
        return cls(np.rint(u / q), np.rint(s / q), scale, bits)

    @property
    def n_cells(self) -> int:
        return int(self.s_ints.shape[0])

    @property
    def rank(self) -> int:
        return int(self.u_ints.shape[1])

    @property
    def n_normals(self) -> int:
        return self.rank + self.n_cells

    def matrix(self) -> np.ndarray:
        """The quantised ``[U | diag(s)]`` as real numbers, ``(d, r + d)`` (small grids only)."""
        q = self.scale * 2.0**-self.bits
        return np.concatenate([self.u_ints * q, np.diag(self.s_ints * q)], axis=1)

    def left_product(self, a: np.ndarray) -> np.ndarray:
        """A [U | diag(s)] for rows ``a`` ``(K, d)``: ``(K, r + d)``, without the d × d
        diagonal block."""
        q = self.scale * 2.0**-self.bits
        a = np.atleast_2d(np.asarray(a, np.float64))
        return np.concatenate([(a @ self.u_ints) * q, a * (self.s_ints * q)], axis=1)

    def apply(self, z: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """Exact draws ``(n, d)`` from standard normals ``z`` ``(n, r + d)``."""
        r = self.rank
        zq = _quantise_z32(z, "lr")
        zr = scratch_buffer("lrd", (z.shape[0], r), np.float64)
        zr[...] = zq[:, :r]
        prod = scratch_buffer("lrprod", (z.shape[0], self.n_cells), np.float64)
        np.matmul(zr, self._ut, out=prod)
        # the diagonal term straight from float32 (widened exactly inside the ufunc): no
        # float64 copy of the d normals
        prod += zq[:, r:] * self.s_ints
        return self._scaled(prod, dtype)

    def token(self) -> tuple:
        return (self.scale, self.bits, self.u_ints.tobytes(), self.s_ints.tobytes())
