"""The benchmark generator: draws (x, y, truth) for any range of global sample indices.

Chunk invariance: samples are drawn in fixed blocks of :data:`BLOCK` rows; block ``b`` uses
its own stream ``SeedSequence(seed, spawn_key=(STREAM_SAMPLES, b))`` and is always computed
whole (standard normals, then one GEMM with the covariance factor), then sliced. The value of
sample ``i`` therefore depends only on ``(seed, i)`` — never on chunk sizes, scheduler or
worker count — and the stream is endless: indices past ``n_samples`` are fresh, independent
draws (what ``fit`` uses for infinite training data).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .covariance import Covariance
from .responses import Response

__all__ = ["BLOCK", "Generator", "STREAM_NOISE", "STREAM_PARAMS", "STREAM_SAMPLES"]

#: rows per seeded block; part of the definition of the stream (recorded in provenance)
BLOCK = 1000
STREAM_PARAMS, STREAM_SAMPLES, STREAM_NOISE, STREAM_PILOT = 0, 1, 2, 3


@functools.cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_blas_thread() -> Any:
    """Context manager: numpy's BLAS uses one thread inside it.

    For draws that run beside other parallel work (dask's task threads, torch training):
    a multi-threaded BLAS there oversubscribes the cores and nearly doubled generation time
    (benchmarks/generate.py). Eager single-threaded callers are better off without it.
    """
    return _blas().limit(limits=1, user_api="blas")


def block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream, block))))


@dataclass(eq=False)
class Generator:
    """Draws benchmark samples by global index. Plain numpy; no xarray, no dask.

    Parameters
    ----------
    covariance : Covariance
        Σ of the input fields over the valid cells.
    response : Response
        The per-cell functions Fᵢ.
    seed : int
        Seed of the sample and noise streams.
    scale : float
        y = scale · Σᵢ Fᵢ(xᵢ) (the original uses 1/d).
    noise_std : float
        Standard deviation of additive Gaussian noise on y (0: none).
    dtype : numpy dtype
        Of x and truth (y is float64).
    """

    covariance: Covariance
    response: Response
    seed: int
    scale: float
    noise_std: float = 0.0
    dtype: Any = np.float32
    _lt: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.dtype = np.dtype(self.dtype)
        self._lt = np.ascontiguousarray(self.covariance.factor().T.astype(self.dtype))

    @property
    def n_cells(self) -> int:
        return self.covariance.cells.n_cells

    def __dask_tokenize__(self) -> tuple:
        return ("xattrib.Generator", self.seed, self.scale, self.noise_std, str(self.dtype),
                self._lt.tobytes(), self.response.__dask_tokenize__())

    def _x_blocks(self, start: int, stop: int) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(rows, x)`` block by block: whole seeded blocks drawn, then sliced."""
        if start < 0 or stop < start:
            raise ValueError(f"invalid sample range {start}..{stop}")
        d = self.n_cells
        for b in range(start // BLOCK, -(-stop // BLOCK)):
            lo = b * BLOCK
            s, e = max(lo, start), min(lo + BLOCK, stop)
            z = block_rng(self.seed, STREAM_SAMPLES, b).standard_normal((BLOCK, d), dtype=self.dtype)
            yield slice(s - start, e - start), (z @ self._lt)[s - lo:e - lo]

    def draw_x(self, start: int, stop: int) -> np.ndarray:
        """Input fields of samples ``start..stop-1`` over valid cells, ``(n, d)``."""
        out = np.empty((max(stop - start, 0), self.n_cells), dtype=self.dtype)
        for rows, xb in self._x_blocks(start, stop):
            out[rows] = xb
        return out

    def noise(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros(stop - start)
        if self.noise_std == 0:
            return out
        for b in range(start // BLOCK, -(-stop // BLOCK)):
            lo = b * BLOCK
            eps = block_rng(self.seed, STREAM_NOISE, b).standard_normal(BLOCK)
            s, e = max(lo, start), min(lo + BLOCK, stop)
            out[s - start:e - start] = self.noise_std * eps[s - lo:e - lo]
        return out

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """scale · Fᵢ(xᵢ), ``(n, d)``: the truth relative to the zero baseline."""
        f = self.response(x)
        f *= f.dtype.type(self.scale)
        return f

    def respond(self, x: np.ndarray, start: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(y, contributions) for inputs ``x``; noise is added when ``start`` is given.

        Rows are processed in blocks of :data:`BLOCK` so each stays in cache: on a whole
        200k × 450 array at once, F took five times longer.
        """
        if x.shape[0] > BLOCK:
            c = np.empty(x.shape, dtype=np.result_type(x.dtype, np.float32))
            y = np.empty(x.shape[0])
            for s in range(0, x.shape[0], BLOCK):
                y[s:s + BLOCK], c[s:s + BLOCK] = self.respond(x[s:s + BLOCK])
            if start is not None and self.noise_std:
                y += self.noise(start, start + x.shape[0])
            return y, c
        c = self.contributions(x)
        y = c.sum(1, dtype=np.float64)
        if start is not None and self.noise_std:
            y += self.noise(start, start + x.shape[0])
        return y, c

    def draw(self, start: int, stop: int, baseline_contrib: np.ndarray | None = None,
             emit: Any = None) -> tuple[np.ndarray, ...]:
        """``(x (n, d), y (n,), truth (n, d))`` for samples ``start..stop-1``.

        ``y`` is noise-free (add :meth:`noise` for the observed response);
        ``baseline_contrib`` is scale·F(b), ``(d,)`` or ``(n, d)``, subtracted from the truth.

        Work is done one seeded block at a time (RNG, GEMM, F, truth) so each block stays in
        cache; ``emit(rows, x_block, truth_block)``, if given, receives every block (to scatter
        it straight into a gridded output) and x/truth are then not returned.
        """
        n, d = max(stop - start, 0), self.n_cells
        y = np.empty(n)
        keep = emit is None
        xs = np.empty((n, d), self.dtype) if keep else None
        ts = np.empty((n, d), self.dtype) if keep else None
        per_sample = baseline_contrib is not None and baseline_contrib.ndim == 2
        for rows, xb in self._x_blocks(start, stop):
            yb, tb = self.respond(xb)
            y[rows] = yb
            if baseline_contrib is not None:
                tb -= (baseline_contrib[rows] if per_sample else baseline_contrib).astype(
                    tb.dtype, copy=False)
            if keep:
                xs[rows], ts[rows] = xb, tb  # type: ignore[index]
            else:
                emit(rows, xb, tb)
        return xs, y, ts  # type: ignore[return-value]

    def expected_contributions(self) -> np.ndarray:
        """scale · E[Fᵢ(Xᵢ)] under the sampling distribution, ``(d,)``."""
        return self.scale * self.response.expectation(self.covariance.std)

    def pilot_variance(self, n: int = 20_000) -> float:
        """Variance of the noise-free y from ``n`` pilot draws (a stream of its own)."""
        rng = block_rng(self.seed, STREAM_PILOT, 0)
        z = rng.standard_normal((n, self.n_cells))
        x = z @ self.covariance.factor().T
        return float(self.contributions(x).sum(1).var())
