"""Isotropic correlation kernels of distance on the sphere, by name (``parametric(kernel=)``).

A kernel maps the scaled distance h = r / ℓ (and a smoothness ν where it has one) to a
correlation with k(0) = 1. A new kernel is a function and one registration line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..registry import Registry

__all__ = ["KERNELS", "Kernel"]


@dataclass(frozen=True)
class Kernel:
    """``correlation(h, nu)``; ``uses_nu``: whether the smoothness ν applies."""

    correlation: Callable[[np.ndarray, float], np.ndarray]
    description: str
    uses_nu: bool = False


#: name → :class:`Kernel`
KERNELS: Registry[Kernel] = Registry("covariance kernel")


def _matern(h: np.ndarray, nu: float) -> np.ndarray:
    from scipy.special import gamma, kv

    s = np.sqrt(2 * nu) * h
    with np.errstate(invalid="ignore"):
        k = (2 ** (1 - nu) / gamma(nu)) * s**nu * kv(nu, s)
    k[s == 0] = 1.0
    return np.asarray(k)


KERNELS.register("matern", Kernel(_matern, "Matérn with smoothness ν (`nu`, default 1.5)",
                                  uses_nu=True))
KERNELS.register("exponential", Kernel(lambda h, nu: np.exp(-h), "exp(−h): Matérn ν = ½"))
KERNELS.register("gaussian", Kernel(lambda h, nu: np.exp(-0.5 * h**2),
                                    "exp(−h²/2): the ν → ∞ limit of Matérn"))
