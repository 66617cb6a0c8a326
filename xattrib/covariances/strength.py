"""Correlation strength: R_w = (1 − w)·R + w·𝟙𝟙ᵀ (Krell et al. 2025).

Krell et al. strengthened the inputs' correlation towards a common mode to see what strong
correlation does to attributions; w = 0 keeps the source's own correlation, w = 1 makes every
cell one field. Each cell keeps its variance: Σ_w = D R_w D = (1 − w)·Σ + w·σσᵀ.

The result is a sampler of the same kind, in its own form, never a d × d matrix it did not
have: a dense Σ becomes (1 − w)Σ + wσσᵀ; a low-rank Σ = UUᵀ + diag(s²) gains one column,
[√(1 − w)·U | √w·σ] with diagonal √(1 − w)·s. A spectral (isotropic kernel) sampler has a
length scale to sweep instead (``parametric(length_scale_km=...)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dense import Covariance
from .lowrank import LowRankCovariance

__all__ = ["strengthen"]


def check_strength(w: Any, name: str = "strength") -> float:
    try:
        w = float(w)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number from 0 to 1, got {w!r}") from None
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"{name} must be from 0 (the source's own correlation) to 1 (every "
                         f"cell one field), got {w}")
    return w


def strengthen(cov: Any, w: float, name: str = "strength") -> Any:
    """The covariance with its correlation strengthened: (1 − w)·Σ + w·σσᵀ.

    Parameters
    ----------
    cov : Covariance or LowRankCovariance
    w : float
        From 0 (``cov`` itself) to 1.

    Examples
    --------
    >>> import numpy as np, xattrib
    >>> g = xattrib.grid.make_grid(resolution=30.0, mask="ocean")
    >>> cov = xattrib.covariances.parametric(xattrib.CellIndex.from_mask(g["mask"]))
    >>> strong = strengthen(cov, 0.5)
    >>> r0, r1 = cov.correlation, strong.correlation
    >>> bool(np.allclose(r1, 0.5 * r0 + 0.5))
    True
    """
    w = check_strength(w, name)
    if w == 0:
        return cov
    attrs = {**cov.attrs, "covariance_strength": w}
    if isinstance(cov, Covariance):
        s = cov.std
        return Covariance((1 - w) * cov.matrix + w * np.outer(s, s), cov.cells, attrs,
                          cov.variables)
    if isinstance(cov, LowRankCovariance):
        u = np.hstack([np.sqrt(1 - w) * cov.u, np.sqrt(w) * cov.std[:, None]])
        return LowRankCovariance(u, np.sqrt(1 - w) * cov.diagonal, cov.cells, attrs,
                                 cov.variables)
    raise ValueError(f"correlation strength applies to the dense and lowrank samplers; this "
                     f"covariance uses the {getattr(cov, 'method', type(cov).__name__)!r} "
                     "sampler (an isotropic kernel): sweep its length scale instead, "
                     "covariance={'length_scale_km': ...}")
