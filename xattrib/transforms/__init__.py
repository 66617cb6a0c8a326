"""Transforms for TRIM: explain a network over Fourier bands, harmonics, EOFs or wavelets.

A plug-in family: each transform lives in its own module, follows one protocol
(:mod:`.base`: ``forward`` and ``inverse`` between the stacked valid cells ``(batch, d)``
and features ``(batch, p)``, a ``features`` coordinate naming the features, default
``groups``, the grids it fits) and registers itself in :data:`TRANSFORMS`, the one place
the names are listed. Those with a truth space (:mod:`.spaces`) also serve benchmarks whose
truth lives over their features. The table of members is in ``docs/trim.md``, generated
from the registry.
"""

from __future__ import annotations

from typing import Any

from ..grid import CellIndex
from .base import TRANSFORMS, Grid, Transform, check_transform, feature_grouping

# isort: off
# One line per member; the order is the registry's.
from .fourier import Fourier  # noqa: E402
from .zonal import Zonal  # noqa: E402
from .sht import SphericalHarmonics  # noqa: E402
from .eof import EOF  # noqa: E402
from .wavelet import Wavelet  # noqa: E402
from .matrix import MatrixTransform, from_benchmark  # noqa: E402
# isort: on

__all__ = ["EOF", "TRANSFORMS", "Fourier", "Grid", "MatrixTransform", "SphericalHarmonics",
           "Transform", "Wavelet", "Zonal", "check_transform", "feature_grouping",
           "from_benchmark", "make_transform"]


def make_transform(transform: Any, cells: CellIndex, data: Any = None, **kwargs: Any) -> Any:
    """A transform from a registered name (built on ``cells`` with ``kwargs``; ``"eof"``
    fits on ``data``; ``"benchmark"`` is the basis of a transformed-space benchmark
    ``data``), or ``transform`` itself when it is already an object."""
    if not isinstance(transform, str):
        if kwargs:
            raise ValueError(f"transform_kwargs {sorted(kwargs)} only apply when the transform "
                             "is given by name; configure the object instead")
        return transform
    return TRANSFORMS.get(transform).from_name(cells, data, **kwargs)
