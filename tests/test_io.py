import sys

import numpy as np
import pytest
import xarray as xr

import xattrib
from xattrib import io


def test_grid_file_passes_cf_checker(tmp_path, grid10):
    p = grid10.xattrib.to_netcdf(tmp_path / "grid.nc")
    assert io.check_cf(p) == []
    back = io.open_dataset(p)
    xr.testing.assert_equal(back["mask"], grid10["mask"])
    xr.testing.assert_allclose(back["cell_area"], grid10["cell_area"])
    assert back.attrs["Conventions"] == "CF-1.8"
    for c in ("lat", "lon", "lat_bnds", "lon_bnds"):
        assert "_FillValue" not in back[c].encoding or np.isnan(back[c].encoding["_FillValue"]) is False


def test_pacific_sst_file_passes_cf_checker(tmp_path):
    sst = xattrib.datasets.pacific_sst()
    p = sst.xattrib.to_netcdf(tmp_path / "sst.nc")
    assert io.check_cf(p) == []
    back = io.open_dataset(p)["sst"]
    np.testing.assert_array_equal(back.values, sst.values)
    np.testing.assert_array_equal(back.time.values, sst.time.values)


def test_checker_finds_errors(tmp_path):
    """The checker helper is not vacuous: a file with coordinate fill values fails."""
    ds = xr.Dataset({"a": (("lat",), [1.0, 2.0])}, coords={"lat": [0.0, 1.0]})
    ds.attrs["Conventions"] = "CF-1.8"
    ds.to_netcdf(tmp_path / "bad.nc")
    assert io.check_cf(tmp_path / "bad.nc")


def test_large_variables_float32_compressed_chunked(tmp_path, field):
    big = xr.concat([field] * 2000, "sample").rename("x").to_dataset()
    p = io.to_netcdf(big, tmp_path / "big.nc")
    with xr.open_dataset(p) as back:
        enc = back["x"].encoding
        assert enc["dtype"] == np.float32 and enc["zlib"]
        assert enc["chunksizes"][0] <= 10_000
        np.testing.assert_allclose(back["x"].values, big["x"].values.astype(np.float32))


@pytest.mark.parametrize("writer", ["to_netcdf", "to_zarr"])
def test_write_is_atomic(tmp_path, field, writer, monkeypatch):
    target = tmp_path / ("out.nc" if writer == "to_netcdf" else "out.zarr")
    ds = field.to_dataset()
    getattr(io, writer)(ds, target)
    before = io.open_dataset(target)["x"].values.copy()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, writer, boom)
    with pytest.raises(OSError, match="disk full"):
        getattr(io, writer)(ds * 2, target)
    # the old file is intact and no temporary is left behind
    np.testing.assert_array_equal(io.open_dataset(target)["x"].values, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_failed_first_write_leaves_nothing(tmp_path, field, monkeypatch):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", lambda *a, **k: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        io.to_netcdf(field.to_dataset(), tmp_path / "new.nc")
    assert list(tmp_path.iterdir()) == []


def test_zarr_roundtrip(tmp_path, grid10):
    p = io.to_zarr(grid10, tmp_path / "g.zarr")
    back = io.open_dataset(p).compute()
    xr.testing.assert_equal(back["mask"], grid10["mask"])
    assert back.attrs["Conventions"] == "CF-1.8"


def test_import_does_not_load_torch():
    import subprocess

    code = "import sys, xattrib; xattrib.grid.make_grid(30.0); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_large_parameters_keep_float64(tmp_path):
    """A benchmark's covariance (202 500 values) keeps float64, so a generator rebuilt from
    the file draws exactly the same samples."""
    import xattrib

    b = xattrib.benchmark(n_samples=100, chunks=100, seed=5)
    p = io.to_netcdf(b, tmp_path / "b.nc")
    with io.open_dataset(p) as back:
        assert back["covariance"].dtype == np.float64
        x = xattrib.generator_from_dataset(back).draw_x(0, 100)
    np.testing.assert_array_equal(x, xattrib.generator_from_dataset(b).draw_x(0, 100))
