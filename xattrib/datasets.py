"""Real data that installs without a network.

The ``eofs`` package ships observed November–March mean sea-surface temperature anomalies
over the Pacific (1963–2012, 5° grid, 450 ocean cells) — close to the 458-cell grid of
Mamalakis et al. (2022). :func:`pacific_sst` returns them as a CF DataArray.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .dims import squeeze_extra
from .registry import closest_hint

__all__ = ["check_field", "lagged", "open_field", "pacific_sst"]


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


def open_field(path: str | Path, var: str | None = None) -> xr.DataArray:
    """One variable of a user's netCDF file or zarr store, as a DataArray (read as data: no
    code the file names is ever imported or called).

    Times in any CF calendar decode (``noleap`` and ``360_day`` as cftime objects); a file
    of one data variable needs no ``var``.

    Parameters
    ----------
    path : str or Path
        A netCDF file, or a zarr store (a folder, or a path ending ``.zarr``).
    var : str, optional
        The variable's name.

    Examples
    --------
    >>> import tempfile, os
    >>> tmp = tempfile.mkdtemp()
    >>> pacific_sst().to_netcdf(os.path.join(tmp, "sst.nc"))
    >>> open_field(os.path.join(tmp, "sst.nc"), "sst").dims
    ('time', 'lat', 'lon')
    """
    ds, var = _open_variable(path, var)
    da = ds[var].load()
    ds.close()
    da.attrs.setdefault("source", f"{Path(path).name}")
    return da


def check_field(path: str | Path, var: str | None = None) -> None:
    """Raise, as :func:`open_field` would, if ``path`` cannot be read or lacks ``var``;
    reads the file's metadata only (a command checks its ``--data`` before it starts)."""
    ds, _ = _open_variable(path, var)
    ds.close()


def _open_variable(path: str | Path, var: str | None) -> tuple[xr.Dataset, str]:
    """The file opened lazily and the name of the variable to read, or a one-line error
    naming the file and what was expected."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"data file {str(p)!r} does not exist (pass a netCDF file or "
                                "a zarr store)")
    try:
        if p.is_dir() or p.suffix == ".zarr":
            ds = xr.open_zarr(p, chunks=None)
        else:
            ds = xr.open_dataset(p, chunks=None)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ValueError(f"cannot read {str(p)!r} as netCDF or zarr: {err}") from None
    names = [str(v) for v in ds.data_vars]
    if var is None:
        if len(names) != 1:
            ds.close()
            raise ValueError(f"{str(p)!r} holds the variables {names}; choose one with var= "
                             "(--var on the command line)")
        var = names[0]
    if var not in ds.data_vars:
        ds.close()
        raise ValueError(f"{str(p)!r} has no variable {var!r};{closest_hint(var, names)} "
                         f"its variables: {', '.join(names)}")
    return ds, var


def lagged(da: xr.DataArray, lags: list[int] | tuple[int, ...] = (0, 1),
           sample_dim: str | None = None, name: str | None = None) -> xr.Dataset:
    """One variable at several lags, as the variables of a Dataset (how a forecasting
    network sees the past): ``<name>_lag<k>`` at sample t holds ``da`` at sample t − k.

    Only the samples where every lag exists are kept (the first ``max(lags)`` are dropped),
    so all variables share one sample axis, labelled by the *latest* time each sample sees.
    The Dataset is a benchmark source of several variables (joint covariance with every
    cross-lag covariance).

    Parameters
    ----------
    da : DataArray
        ``(sample, lat, lon)`` anomalies, samples in time order.
    lags : sequence of int
        Non-negative, distinct steps back along the sample dimension.
    sample_dim : str, optional
        Default: the one dimension that is not latitude or longitude.
    name : str, optional
        Prefix of the variables (default ``da.name``, else ``x``).

    Examples
    --------
    >>> sst = pacific_sst()
    >>> ds = lagged(sst, lags=[0, 1])
    >>> list(ds.data_vars), ds.sizes["time"] == sst.sizes["time"] - 1
    (['sst_lag0', 'sst_lag1'], True)
    >>> t = ds["time"][3]   # last winter's field sits beside this one
    >>> ds["sst_lag1"].sel(time=t).equals(sst.shift(time=1).sel(time=t))
    True
    """
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"lagged needs a DataArray, got {type(da).__name__}; pick a variable "
                        "of your Dataset first")
    steps = [int(k) for k in lags]
    if not steps or min(steps) < 0 or len(set(steps)) != len(steps):
        raise ValueError(f"lags must be distinct non-negative steps, got {list(lags)}")
    da, dim, _ = squeeze_extra(da, sample_dim, what=str(da.name or "the field"))
    keep = da.sizes[dim] - max(steps)
    if keep < 1:
        raise ValueError(f"lags up to {max(steps)} need more than {max(steps)} samples along "
                         f"{dim!r}; there are {da.sizes[dim]}")
    prefix = name or (str(da.name) if da.name is not None else "x")
    top = max(steps)
    out = {}
    for k in steps:
        part = da.isel({dim: slice(top - k, top - k + keep)})
        part = part.assign_coords({dim: da[dim].values[top:]})
        out[f"{prefix}_lag{k}"] = part.assign_attrs(
            {**da.attrs, "lag": k,
             "long_name": f"{da.attrs.get('long_name', prefix)} {k} step{'s' if k != 1 else ''}"
                          f" before the sample's {dim}" if k else
                          da.attrs.get("long_name", prefix)})
    return xr.Dataset(out, attrs={"lags": " ".join(map(str, steps))})
