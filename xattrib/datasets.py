"""Real data that installs without a network.

The ``eofs`` package ships observed November–March mean sea-surface temperature anomalies
over the Pacific (1963–2012, 5° grid, 450 ocean cells) — close to the 458-cell grid of
Mamalakis et al. (2022). :func:`pacific_sst` returns them as a CF DataArray.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["pacific_sst"]


def pacific_sst() -> xr.DataArray:
    """Observed Pacific NDJFM SST anomalies (K), ``(time, lat, lon)``, land NaN.

    50 winters (1963–2012) on a regular 5° grid of 18 × 30 cells, 450 of them ocean. Read
    from the file the ``eofs`` package ships; nothing is downloaded. Cell bounds are not
    attached (a DataArray cannot hold them); on this regular grid xattrib infers them exactly.

    Examples
    --------
    >>> sst = pacific_sst()
    >>> dict(sst.sizes)
    {'time': 50, 'lat': 18, 'lon': 30}
    >>> int(sst.isel(time=0).notnull().sum())
    450
    """
    from eofs.examples import example_data_path

    with xr.open_dataset(example_data_path("sst_ndjfm_anom.nc")) as src:
        raw = src.load()
    da = xr.DataArray(
        raw["sst"].values.astype(np.float64),
        dims=("time", "lat", "lon"),
        coords={
            "time": ("time", raw["time"].values, {"standard_name": "time", "long_name": "time",
                                                  "axis": "T"}),
            "lat": ("lat", raw["latitude"].values.astype(float),
                    {"standard_name": "latitude", "long_name": "latitude",
                     "units": "degrees_north", "axis": "Y"}),
            "lon": ("lon", raw["longitude"].values.astype(float),
                    {"standard_name": "longitude", "long_name": "longitude",
                     "units": "degrees_east", "axis": "X"}),
        },
        name="sst",
        attrs={
            "long_name": "NDJFM mean sea surface temperature anomaly",
            "units": "K",
            "source": "eofs example data sst_ndjfm_anom.nc (observed SST anomalies)",
        },
    )
    return da
