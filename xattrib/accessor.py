"""``ds.xattrib`` / ``da.xattrib``: thin accessors over the public functions.

Each method resolves its object and forwards ``*args, **kwargs`` unchanged to the public
function of the same name (xskillscore's pattern): no logic lives here, and no signature is
re-declared, so no keyword can be silently dropped.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from . import io
from .generation import benchmark
from .grid import area_weights
from .scoring import score
from .training import fit


class _Accessor:
    def __init__(self, obj: xr.Dataset | xr.DataArray) -> None:
        self._obj = obj

    def to_netcdf(self, path: Any, **kwargs: Any) -> Any:
        """CF-1.8 netCDF, written atomically (see :func:`xattrib.io.to_netcdf`)."""
        return io.to_netcdf(self._obj, path, **kwargs)

    def to_zarr(self, path: Any, **kwargs: Any) -> Any:
        """CF-attributed zarr, written atomically (see :func:`xattrib.io.to_zarr`)."""
        return io.to_zarr(self._obj, path, **kwargs)

    def benchmark(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        """A benchmark on this grid or from these anomalies (see :func:`xattrib.benchmark`)."""
        return benchmark(self._obj, *args, **kwargs)

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """Train a network on this benchmark (see :func:`xattrib.fit`)."""
        return fit(self._obj, *args, **kwargs)  # type: ignore[arg-type]

    def attribute(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        """Attribution heatmaps of a model on these inputs (see :func:`xattrib.attribute`)."""
        from .attribution import attribute  # torch and captum: imported on first use

        return attribute(self._obj, *args, **kwargs)

    def trim(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        """Attribution to groups of transformed features (see :func:`xattrib.trim`)."""
        from .attribution import trim  # torch and captum: imported on first use

        return trim(self._obj, *args, **kwargs)

    def score(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        """Score these heatmaps against a truth (see :func:`xattrib.score`)."""
        return score(self._obj, *args, **kwargs)

    def area_weights(self, **kwargs: Any) -> xr.DataArray:
        """Normalised cell-area weights (see :func:`xattrib.grid.area_weights`)."""
        return area_weights(self._obj, **kwargs)


@xr.register_dataset_accessor("xattrib")
class DatasetAccessor(_Accessor):
    """``ds.xattrib``: xattrib's functions with the Dataset as first argument."""


@xr.register_dataarray_accessor("xattrib")
class DataArrayAccessor(_Accessor):
    """``da.xattrib``: xattrib's functions with the DataArray as first argument."""
