"""Covariance samplers: the correlated Gaussian fields X ~ MVN(0, Σ) a benchmark draws.

A plug-in family (:data:`SAMPLERS`, protocol in :mod:`.base`). ``dense`` holds Σ (from data,
a parametric kernel on the sphere, or a given matrix) and samples it through an exactly
quantised factor (:mod:`.quantised`), so the same seed gives the same numbers on any machine;
``lowrank`` holds a shrunk estimate from data as its d × n factor (exact as well) and
``spectral`` an isotropic kernel as its angular power spectrum, for grids where d × d does
not fit. :func:`from_data` and :func:`parametric` choose by size (``method="auto"``).
"""

from .base import DENSE_MAX_CELLS, SAMPLERS
from .dense import DEFAULT_LENGTH_SCALE_KM, Covariance, from_data, from_matrix, parametric
from .kernels import KERNELS, Kernel
from .lowrank import LowRankCovariance
from .quantised import QuantisedFactor, QuantisedLowRank
from .spectral import SpectralCovariance
from .strength import strengthen

#: any sampler's covariance (what ``benchmark(covariance=...)`` accepts as is)
SAMPLER_TYPES = (Covariance, LowRankCovariance, SpectralCovariance)

__all__ = ["DEFAULT_LENGTH_SCALE_KM", "DENSE_MAX_CELLS", "KERNELS", "SAMPLERS",
           "SAMPLER_TYPES", "Covariance", "Kernel", "LowRankCovariance", "QuantisedFactor",
           "QuantisedLowRank", "SpectralCovariance", "from_data", "from_matrix", "parametric",
           "strengthen"]
