"""Covariance samplers: the correlated Gaussian fields X ~ MVN(0, Σ) a benchmark draws.

A plug-in family. ``dense`` holds Σ (from data, a parametric kernel on the sphere, or a
given matrix) and samples it through an exactly quantised factor (:mod:`.quantised`), so the
same seed gives the same numbers on any machine.
"""

from .dense import DEFAULT_LENGTH_SCALE_KM, Covariance, from_data, from_matrix, parametric
from .kernels import KERNELS, Kernel
from .quantised import QuantisedFactor

__all__ = ["DEFAULT_LENGTH_SCALE_KM", "KERNELS", "Covariance", "Kernel", "QuantisedFactor",
           "from_data", "from_matrix", "parametric"]
