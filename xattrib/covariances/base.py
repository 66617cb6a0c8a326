"""The protocol of covariance samplers, and the registry of their names.

A sampler holds Σ of the input fields over the valid cells of a grid in whatever form draws
it fastest, and never needs more than that form:

- ``dense`` — Σ itself and its Cholesky factor (d × d): exact, any Σ, the fastest on small
  grids (the bundled 450-cell SST);
- ``lowrank`` — a shrunk sample covariance (1 − δ)S + δI of n anomaly maps is U Uᵀ + diag(s²)
  with U of size d × n: O(d·n) memory and work per draw;
- ``spectral`` — an isotropic kernel on the sphere as its angular power spectrum, drawn by
  spherical-harmonic synthesis (ducc0): O(d log d) per draw, nothing of size d².

Every sampler offers the same few things to the generator: :meth:`Sampler.draws` (an object
mapping standard normals to fields: ``n_normals``, ``apply``, ``draw``, ``token``, and
``left_product(A)`` = A L for a few rows A — a transformed space's features),
``matmat(v)`` = Σ v and ``quadratic(A)`` = diag(A Σ Aᵀ) without forming Σ,
:meth:`Sampler.correlation_draws` (the same for the correlation, which the response
parameters are drawn through), ``std``, ``attrs`` (provenance, including
``covariance_sampler``) and, on grids small enough, ``matrix``.

:data:`DENSE_MAX_CELLS` is where ``method="auto"`` stops choosing ``dense``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..registry import Registry

__all__ = ["DENSE_MAX_CELLS", "MATRIX_MAX_CELLS", "SAMPLERS", "Draws", "SamplerInfo",
           "check_dense_fits", "check_variables", "matrix_guard", "resolve_method"]

#: ``method="auto"`` uses the dense sampler up to this many valid cells. Above it, the
#: d × d matrix and its factor cost more than a minute and several GB (6,937 cells: 50 s,
#: 6.1 GB) while the low-rank and spectral draws are already the cheaper ones.
DENSE_MAX_CELLS = 4096
#: a non-dense sampler builds Σ as a matrix (for tests; nothing in the pipeline needs it:
#: transformed spaces use ``matmat``, ``quadratic`` and ``left_product``) only up to
#: this many cells (0.5 GB in float64)
MATRIX_MAX_CELLS = 8192


class Draws(Protocol):
    """Maps standard normals ``(n, n_normals)`` to fields over the valid cells ``(n, d)``."""

    @property
    def n_cells(self) -> int: ...

    @property
    def n_normals(self) -> int: ...

    def apply(self, z: np.ndarray, dtype: Any = np.float64) -> np.ndarray: ...

    def draw(self, rng: np.random.Generator, n: int, dtype: Any = np.float64) -> np.ndarray: ...

    def matrix(self) -> np.ndarray: ...

    def left_product(self, a: np.ndarray) -> np.ndarray: ...

    def token(self) -> tuple: ...


@dataclass(frozen=True)
class SamplerInfo:
    """A registered sampler: what it needs and what it promises."""

    description: str
    sources: str
    reproducible: str


#: name → :class:`SamplerInfo` (``method=`` of :func:`~xattrib.covariances.from_data` and
#: :func:`~xattrib.covariances.parametric`)
SAMPLERS: Registry[SamplerInfo] = Registry(
    "covariance sampler", extra=" (or 'auto': by grid size)", columns={"sources": lambda s: s.sources,
                                   "same numbers": lambda s: s.reproducible})


def _memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 16 * 2**30


def check_dense_fits(d: int, alternative: str) -> None:
    """Refuse a dense Σ that cannot fit: matrix, factor and the factor's quantised copy and
    a work copy (four d × d float64 arrays)."""
    need = 4 * 8 * d * d
    have = _memory_bytes()
    if need > 0.8 * have:
        raise MemoryError(
            f"a dense covariance over {d:,} cells needs about {need / 2**30:.1f} GiB "
            f"(four {d:,} × {d:,} float64 arrays) and this machine has "
            f"{have / 2**30:.1f} GiB; use method={alternative!r} (or method='auto', which "
            f"picks it above {DENSE_MAX_CELLS:,} cells), or a coarser grid")


def resolve_method(method: str, d: int, allowed: tuple[str, ...], large: str) -> str:
    """The sampler ``method`` names for ``d`` cells: ``"auto"`` → dense up to
    :data:`DENSE_MAX_CELLS`, else ``large``; a forced ``"dense"`` is checked to fit."""
    if method == "auto":
        return "dense" if d <= DENSE_MAX_CELLS else large
    SAMPLERS.get(method, what="method")
    if method not in allowed:
        raise ValueError(f"method={method!r} does not apply here; use one of "
                         f"{', '.join(('auto', *allowed))}")
    if method == "dense":
        check_dense_fits(d, large)
    return method


def check_variables(variables: Any) -> tuple[str, ...]:
    """The names of a joint sampler's variables: none (one field) or two or more, distinct."""
    names = tuple(str(v) for v in (variables or ()))
    if len(names) == 1:
        return ()
    if len(set(names)) != len(names):
        raise ValueError(f"the variables {list(names)} repeat a name; each needs its own")
    return names


def matrix_guard(d: int, sampler: str) -> None:
    if d > MATRIX_MAX_CELLS:
        raise MemoryError(
            f"the {sampler} sampler does not form the {d:,} × {d:,} covariance matrix "
            f"(only up to {MATRIX_MAX_CELLS:,} cells); use its products instead: matmat(v) "
            "= Σ v, quadratic(A) = diag(A Σ Aᵀ), draws().left_product(A) = A L")
