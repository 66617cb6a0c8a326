"""The benchmark generator: draws (x, y, truth) for any range of global sample indices.

Same seed, same numbers: samples are drawn in fixed blocks of :data:`BLOCK` rows; block ``b``
uses its own stream ``SeedSequence(seed, spawn_key=(STREAM_SAMPLES, b))``, drawn in tiles
of that one sequential stream and processed tile by tile (standard normals, the exact product
with the exactly quantised covariance factor of :mod:`xattrib.covariances.quantised`, F, y
and the truth); rows never depend on
how they are grouped. The value of sample ``i`` therefore
depends only on ``(seed, i)`` — never on chunk sizes, the scheduler, worker count, BLAS
threads or what else runs in the process — and the stream is endless: indices past
``n_samples`` are fresh, independent draws (what ``fit`` uses for infinite training data).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..covariances.base import Draws
from ..covariances.quantised import QuantisedFactor, scratch_buffer
from ..responses import TRUTH_KINDS, Response

__all__ = ["BLOCK", "Generator", "STREAM_NOISE", "STREAM_PARAMS", "STREAM_SAMPLES"]

#: rows per seeded block; part of the definition of the stream (recorded in provenance)
BLOCK = 1000
#: rows processed together inside a block (cache size only: values never depend on it)
TILE = 250
STREAM_PARAMS, STREAM_SAMPLES, STREAM_NOISE, STREAM_PILOT = 0, 1, 2, 3
#: how x is made from z; recorded in provenance, so files say which definition they used
SAMPLING = "exact-quantised-v1"
#: input dtypes a benchmark can be generated in
DTYPES = ("float32", "float64")


def block_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream, block))))


@dataclass(eq=False)
class Generator:
    """Draws benchmark samples by global index. Plain numpy; no xarray, no dask.

    Parameters
    ----------
    covariance : Covariance, LowRankCovariance or SpectralCovariance
        Σ of the input fields over the valid cells (any sampler of
        :mod:`xattrib.covariances`).
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

    covariance: Any
    response: Response
    seed: int
    scale: float
    noise_std: float = 0.0
    dtype: Any = np.float32
    space: Any = None
    _factor: Draws = field(init=False, repr=False)
    _sfactor: QuantisedFactor | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.dtype = np.dtype(self.dtype)
        if self.dtype.name not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype.name!r}")
        self._factor = self.covariance.draws()
        if self.space is not None:
            # s = A x = (A L) z: the features of the very same normals, as an exact product
            # of its own, so they too never depend on the BLAS (A L is quantised like L)
            m = self._factor.left_product(self.space.analysis)  # never L itself at 1°
            self._sfactor = QuantisedFactor.from_matrix(m, square=False)

    @property
    def n_cells(self) -> int:
        """Inputs of x: the valid cells, times the number of variables of a joint source."""
        return self.covariance.n_inputs

    @property
    def variables(self) -> tuple[str, ...]:
        """The names of a joint source's variables (x's columns: each one's cells in turn);
        empty for one field."""
        return tuple(self.covariance.variables)

    @property
    def n_features(self) -> int:
        """Inputs of the response: the cells, or the transformed features of ``space``."""
        return self.n_cells if self.space is None else self.space.n_features

    @property
    def feature_std(self) -> np.ndarray:
        """Standard deviation of each response input under the sampling distribution."""
        if self._sfactor is None:
            return self.covariance.std
        m = self._sfactor.matrix()
        return np.sqrt((m * m).sum(1))

    def features_of(self, x: np.ndarray) -> np.ndarray:
        """The response's inputs for given fields ``(n, d)``: x itself, or s = A x."""
        if self.space is None:
            return x
        return np.asarray(x, np.float64) @ self.space.analysis.T

    def __dask_tokenize__(self) -> tuple:
        return ("xattrib.Generator", self.seed, self.scale, self.noise_std, str(self.dtype),
                self._factor.token(), self.response.__dask_tokenize__(),
                None if self._sfactor is None else self._sfactor.token())

    def _blocks(self, start: int, stop: int) -> Iterator[tuple[int, slice, slice]]:
        """``(block, rows of the output, rows of the block)`` covering ``start..stop``."""
        if start < 0 or stop < start:
            raise ValueError(f"invalid sample range {start}..{stop}")
        for b in range(start // BLOCK, -(-stop // BLOCK)):
            lo = b * BLOCK
            s, e = max(lo, start), min(lo + BLOCK, stop)
            yield b, slice(s - start, e - start), slice(s - lo, e - lo)

    def _x_tiles(self, start: int, stop: int, stream: int = STREAM_SAMPLES
                 ) -> Iterator[tuple[slice, np.ndarray]]:
        for rows, xb, _ in self._tiles(start, stop, stream, False):
            yield rows, xb

    def _tiles(self, start: int, stop: int, stream: int = STREAM_SAMPLES,
               features: bool = True) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
        """Yield ``(rows of the output, x)`` tile by tile for samples ``start..stop``.

        A block's normals are drawn in :data:`TILE`-row pieces of its one sequential stream
        (numpy fills sequentially, so the pieces equal one whole draw) and each piece is used
        while it is in cache. Rows are independent (exact products, per-row sums), so how
        rows are grouped never changes a value.
        """
        for b, rows, sub in self._blocks(start, stop):
            rng = block_rng(self.seed, stream, b)
            for t0 in range(0, sub.stop, TILE):  # draws past the last wanted row are skipped
                t1 = min(t0 + TILE, BLOCK)
                z = scratch_buffer("z", (t1 - t0, self._factor.n_normals), np.float32)
                rng.standard_normal(out=z, dtype=np.float32)
                s, e = max(t0, sub.start), min(t1, sub.stop)
                if s < e:  # tiles before the first wanted row only advance the stream
                    off = rows.start - sub.start
                    zt = z[s - t0:e - t0]
                    xb = self._factor.apply(zt, self.dtype)
                    if not features:
                        yield slice(s + off, e + off), xb, xb
                    elif self._sfactor is None:
                        yield slice(s + off, e + off), xb, xb
                    else:
                        yield slice(s + off, e + off), xb, self._sfactor.apply(zt, self.dtype)

    def draw_x(self, start: int, stop: int, stream: int = STREAM_SAMPLES,
               dtype: Any = None) -> np.ndarray:
        """Input fields of samples ``start..stop-1`` over valid cells, ``(n, d)``, stored as
        ``dtype`` (default the generator's; ``stream`` picks another stream, e.g. pilots)."""
        out = np.empty((max(stop - start, 0), self.n_cells), dtype=dtype or self.dtype)
        for rows, xb in self._x_tiles(start, stop, stream):
            out[rows] = xb
        return out

    def noise(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros(stop - start)
        if self.noise_std == 0:
            return out
        for b, rows, sub in self._blocks(start, stop):
            eps = block_rng(self.seed, STREAM_NOISE, b).standard_normal(BLOCK)
            out[rows] = self.noise_std * eps[sub]
        return out

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """scale · Fᵢ(xᵢ), ``(n, d)``: the truth relative to the zero baseline (with a
        ``space``, ``x`` are the transformed features, see :meth:`features_of`)."""
        f = self.response(x)
        f *= f.dtype.type(self.scale)
        return f

    @property
    def truth_kinds(self) -> tuple[str, ...]:
        """The kinds of exact attribution drawn beside ``truth`` (none for an additive
        response; ``ig``, ``main``, ``interaction`` for an interacting one, whose ``truth``
        is the Shapley value: :mod:`xattrib.responses.interacting`)."""
        if self.response.additive:
            return ()

        return TRUTH_KINDS[1:]

    def respond(self, x: np.ndarray, start: int | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """(y, contributions) for inputs ``x``; noise is added when ``start`` is given.

        An interacting response has no per-cell contributions (its truths depend on the
        baseline: :meth:`truths`): contributions are then None.

        Rows are processed in blocks of :data:`BLOCK` so each stays in cache: on a whole
        200k × 450 array at once, F took five times longer.
        """
        if not self.response.additive:
            y = np.empty(x.shape[0])
            for s in range(0, x.shape[0], BLOCK):
                y[s:s + BLOCK] = self.scale * self.response.value(x[s:s + BLOCK])
            if start is not None and self.noise_std:
                y += self.noise(start, start + x.shape[0])
            return y, None
        if x.shape[0] > BLOCK:
            c = np.empty(x.shape, dtype=np.result_type(x.dtype, np.float32))
            y = np.empty(x.shape[0])
            for s in range(0, x.shape[0], BLOCK):
                y[s:s + BLOCK], c[s:s + BLOCK] = self.respond(x[s:s + BLOCK])
            if start is not None and self.noise_std:
                y += self.noise(start, start + x.shape[0])
            return y, c
        c = self.contributions(x)
        # float64 rows summed pairwise along contiguous memory: a row's y depends on that
        # row alone (a casting reduction buffers across rows, so its blocking could shift)
        y = c.astype(np.float64).sum(1)
        if start is not None and self.noise_std:
            y += self.noise(start, start + x.shape[0])
        return y, c

    def truths(self, x: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                            dict[str, np.ndarray]]:
        """(y, truth, the other kinds) of an interacting response relative to the baseline
        input ``b`` (``(d,)`` or ``(n, d)``), scaled, in the generator's dtype."""
        kinds = self.response.truths(x, b)  # type: ignore[attr-defined]  # Interacting
        y = self.scale * self.response.value(x)
        out = {k: (self.scale * v).astype(self.dtype) for k, v in kinds.items()}
        return y, out.pop("shapley"), out

    def draw(self, start: int, stop: int, baseline_contrib: np.ndarray | None = None,
             emit: Any = None, baseline_x: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """``(x (n, d), y (n,), truth (n, d))`` for samples ``start..stop-1``.

        ``y`` is noise-free (add :meth:`noise` for the observed response);
        ``baseline_contrib`` is scale·F(b), ``(d,)`` or ``(n, d)``, subtracted from the truth.
        With a ``space``, F acts on the transformed features and the truth is ``(n, K)``.
        An interacting response takes the baseline input itself, ``baseline_x`` (``(d,)`` or
        ``(n, d)``; default zero), and also draws the kinds of :attr:`truth_kinds`.

        Work is done one tile at a time (RNG, exact product, F, truth) so each stays in
        cache; ``emit(rows, x_tile, truth_tile, kinds)``, if given, receives every tile (to
        scatter it straight into a gridded output; ``kinds`` maps each of
        :attr:`truth_kinds` to its tile) and x/truth are then not returned.
        """
        n, d = max(stop - start, 0), self.n_cells
        y = np.empty(n)
        keep = emit is None
        xs = np.empty((n, d), self.dtype) if keep else None
        ts = np.empty((n, self.n_features), self.dtype) if keep else None
        per_sample = baseline_contrib is not None and baseline_contrib.ndim == 2
        b = np.zeros(d) if baseline_x is None else baseline_x
        for rows, xb, sb in self._tiles(start, stop):
            kinds: dict[str, np.ndarray] = {}
            if not self.response.additive:
                y[rows], tb, kinds = self.truths(sb, b[rows] if b.ndim == 2 else b)
            else:
                y[rows], c = self.respond(sb)
                assert c is not None  # an additive response has contributions
                tb = c
                if baseline_contrib is not None:
                    tb -= (baseline_contrib[rows] if per_sample else baseline_contrib).astype(
                        tb.dtype, copy=False)
            if keep:
                xs[rows], ts[rows] = xb, tb  # type: ignore[index]
            else:
                emit(rows, xb, tb, kinds)
        return xs, y, ts  # type: ignore[return-value]

    def expected_contributions(self) -> np.ndarray:
        """scale · E[Fᵢ(Xᵢ)] under the sampling distribution, ``(d,)``."""
        return self.scale * self.response.expectation(self.feature_std)

    def pilot_variance(self, n: int = 20_000) -> float:
        """Variance of the noise-free y from ``n`` pilot draws (a stream of its own)."""
        if self.space is None:
            x = self.draw_x(0, n, STREAM_PILOT, np.float64)
            return float(self.respond(x)[0].var())
        feats = np.empty((n, self.n_features))
        for rows, _, sb in self._tiles(0, n, STREAM_PILOT):
            feats[rows] = sb
        return float(self.contributions(feats).sum(1).var())
