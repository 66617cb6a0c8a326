"""Transforms for TRIM: explain a network over Fourier bands, harmonics, EOFs or wavelets.

Each family lives in its own module and follows one protocol (:mod:`.base`): ``forward``
and ``inverse`` between the stacked valid cells ``(batch, d)`` and features
``(batch, p)``, a ``features`` coordinate naming the features, and default ``groups``.

=========  ==========================================  =============================
name       class                                       default groups
=========  ==========================================  =============================
fourier    :class:`Fourier` (2-D FFT, regional grids)  ``wavenumber`` (radial bands)
zonal      :class:`Zonal` (FFT along longitude)        ``zonal_wavenumber`` m
sht        :class:`SphericalHarmonics` (global grids)  ``degree`` ℓ
eof        :class:`EOF` (fitted on data)               ``mode``
wavelet    :class:`Wavelet` (``ptwt``)                 ``wavelet_band`` (level)
=========  ==========================================  =============================
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from ..stacking import CellIndex
from .base import Grid, Transform, check_transform, feature_grouping
from .eof import EOF
from .fourier import Fourier
from .matrix import MatrixTransform, from_benchmark
from .sht import SphericalHarmonics
from .wavelet import Wavelet
from .zonal import Zonal

__all__ = ["EOF", "TRANSFORMS", "Fourier", "Grid", "MatrixTransform", "SphericalHarmonics",
           "Transform", "Wavelet", "Zonal", "check_transform", "feature_grouping",
           "from_benchmark", "make_transform"]

TRANSFORMS: dict[str, type] = {"fourier": Fourier, "zonal": Zonal, "sht": SphericalHarmonics,
                               "eof": EOF, "wavelet": Wavelet}


def make_transform(transform: Any, cells: CellIndex, data: Any = None, **kwargs: Any) -> Any:
    """A transform from a name (built on ``cells`` with ``kwargs``; ``"eof"`` fits on
    ``data``; ``"benchmark"`` is the basis of a transformed-space benchmark ``data``), or
    ``transform`` itself when it is already an object."""
    if not isinstance(transform, str):
        if kwargs:
            raise ValueError(f"transform_kwargs {sorted(kwargs)} only apply when the transform "
                             "is given by name; configure the object instead")
        return transform
    if transform == "benchmark":
        if not isinstance(data, xr.Dataset):
            raise ValueError("transform='benchmark' needs the benchmark Dataset")
        return from_benchmark(data)
    if transform not in TRANSFORMS:
        from .._names import closest_hint

        raise ValueError(f"unknown transform {transform!r};{closest_hint(transform, TRANSFORMS)}"
                         " Choose from "
                         f"{sorted(TRANSFORMS)} or pass an object with forward, inverse and "
                         "features (see xattrib.transforms.base)")
    if transform == "eof":
        if isinstance(data, xr.Dataset):
            data = data["x"]
        if data is None:
            raise ValueError("transform='eof' is fitted on data: pass data= (anomalies over "
                             "(sample, lat, lon)) or an xattrib.transforms.EOF")
        return EOF.fit(data, cells=cells, **kwargs)
    return TRANSFORMS[transform](cells, **kwargs)
