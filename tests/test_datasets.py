import numpy as np

import xattrib
from xattrib.grid import find_latlon


def test_pacific_sst():
    sst = xattrib.datasets.pacific_sst()
    assert sst.dims == ("time", "lat", "lon") and sst.sizes["time"] == 50
    assert find_latlon(sst).dims == ("lat", "lon")
    ocean = sst.notnull().all("time")
    assert int(ocean.sum()) == 450
    # land is NaN in every season; anomalies have plausible spreads
    assert bool((sst.isnull().any("time") == ~ocean).all())
    std = sst.std("time").where(ocean)
    assert 0.05 < float(std.min()) and float(std.max()) < 3.0  # anomalies in K
    assert sst.attrs["units"] == "K"
    assert np.isfinite(sst.where(ocean, 0)).all()


import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from xattrib.datasets import open_field  # noqa: E402


@pytest.mark.parametrize("calendar", ["noleap", "360_day", "standard"])
@pytest.mark.parametrize("store", ["nc", "zarr"])
def test_open_field_any_calendar_and_store(tmp_path, calendar, store):
    """A user's file in any CF calendar, netCDF or zarr, with a size-1 level kept: its
    benchmark equals the bundled one's (same Σ, same draws), the level noted."""
    sst = xattrib.datasets.pacific_sst()
    t = xr.date_range("1963-01-01", periods=50, freq="YS", calendar=calendar, use_cftime=True)
    ds = sst.assign_coords(time=t).expand_dims(level=[850.0], axis=1).to_dataset(name="tos")
    ds["other"] = ds["tos"] * 2
    path = tmp_path / f"user.{store}"
    ds.to_netcdf(path) if store == "nc" else ds.to_zarr(path)
    da = open_field(path, "tos")
    assert da.dims == ("time", "level", "lat", "lon") and da.sizes["level"] == 1
    b = xattrib.benchmark(da, n_samples=50, chunks=50, seed=2)
    ref = xattrib.benchmark(sst, n_samples=50, chunks=50, seed=2)
    np.testing.assert_array_equal(b["x"].values, ref["x"].values)
    assert b.attrs["xattrib_covariance_squeezed_dims"] == "level=850.0"
    with pytest.raises(ValueError, match="holds the variables"):
        open_field(path)


def test_open_field_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_field(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(ValueError, match="cannot read"):
        open_field(tmp_path / "junk.nc")


def test_lagged_aligns_each_lag_with_the_sample_it_precedes(sst):
    from xattrib.datasets import lagged

    ds = lagged(sst, lags=[0, 2, 1])
    assert list(ds.data_vars) == ["sst_lag0", "sst_lag2", "sst_lag1"]
    assert ds.sizes["time"] == sst.sizes["time"] - 2
    np.testing.assert_array_equal(ds["time"].values, sst["time"].values[2:])
    for k in (0, 1, 2):
        np.testing.assert_array_equal(ds[f"sst_lag{k}"].values,
                                      sst.values[2 - k:sst.sizes["time"] - k])
        assert ds[f"sst_lag{k}"].attrs["lag"] == k


def test_lagged_refuses_impossible_lags(sst):
    from xattrib.datasets import lagged

    with pytest.raises(ValueError, match="distinct non-negative"):
        lagged(sst, lags=[0, -1])
    with pytest.raises(ValueError, match="distinct non-negative"):
        lagged(sst, lags=[1, 1])
    with pytest.raises(ValueError, match="need more than 60 samples"):
        lagged(sst, lags=[0, 60])
    with pytest.raises(TypeError, match="needs a DataArray"):
        lagged(sst.to_dataset(), lags=[0, 1])
