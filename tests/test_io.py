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


def _eofs_file(name):
    import warnings

    from eofs.examples import example_data_path

    with warnings.catch_warnings():  # the file's own "1-1-1" reference date, not ours
        warnings.filterwarnings("ignore", "Ambiguous reference date", xr.SerializationWarning)
        return xr.open_dataset(example_data_path(name)).load()


@pytest.fixture(scope="module")
def hgt():
    """The eofs 500 hPa heights as a user opens them: bounds variables left behind,
    ``actual_range`` of the global file, ``topology: circular`` — cut to a region."""
    z = _eofs_file("hgt_djf.nc")["z"].squeeze("pressure", drop=True)
    z = (z - z.mean("time")).isel(latitude=slice(0, 12), longitude=slice(0, 16))
    index = z.isel(latitude=slice(3, 6), longitude=slice(4, 8)).mean(["latitude", "longitude"])
    return xr.Dataset({"z": z, "index": index})


def _file_attrs(path):
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        return {name: {k: nc[name].getncattr(k) for k in nc[name].ncattrs()}
                for name in nc.variables}, {name: nc[name].dtype for name in nc.variables}


def test_outputs_of_a_users_file_keep_only_attributes_that_hold(tmp_path, hgt):
    """Heatmaps of a network trained on a regional cut of a real file: no stale
    ``actual_range``, dangling ``bounds``, ``topology: circular`` on a regional longitude,
    and a mask with none of the data's metadata; the file passes the CF checker."""
    model = xattrib.fit(hgt, x="z", y="index", epochs=1, hidden=(4,), progress=False)
    heat = xattrib.attribute(hgt, model, methods=["gradient", "input_x_gradient"],
                             progress=False)
    p = io.to_netcdf(heat, tmp_path / "heat.nc")
    assert io.check_cf(p) == []
    attrs, _ = _file_attrs(p)
    for name, a in attrs.items():
        assert not {"actual_range", "topology", "modulo"} & set(a), (name, a)
        assert a.get("bounds") is None or a["bounds"] in attrs, (name, a)
    assert set(attrs["mask"]) <= {"long_name", "flag_values", "flag_meanings", "xattrib_dtype"}
    for name in ("latitude", "longitude", "time"):  # the same holds in memory
        assert "actual_range" not in heat[name].attrs and "bounds" not in heat[name].attrs
    assert heat["mask"].attrs == {"long_name": "valid cells"}
    assert heat["latitude"].attrs["standard_name"] == "latitude"  # what holds is kept


def test_benchmark_heatmaps_scores_and_trim_of_the_eofs_sst_pass(tmp_path):
    raw = _eofs_file("sst_ndjfm_anom.nc")["sst"]
    bench = raw.xattrib.benchmark(n_samples=200, seed=0)
    few = bench.isel(sample=slice(0, 6))
    model = xattrib.Model.exact(bench)
    outputs = {
        "bench": bench,
        "heat": (heat := xattrib.attribute(few, model, methods=["gradient", "input_x_gradient"],
                                           progress=False)),
        "score": xattrib.score(heat, few),
        "trim": xattrib.trim(few, model, transform="fourier", methods="gradient",
                             progress=False),
    }
    for name, ds in outputs.items():
        p = io.to_netcdf(ds, tmp_path / f"{name}.nc")
        assert io.check_cf(p) == [], name
    back = io.open_dataset(tmp_path / "heat.nc")  # the string labels come back as the index
    assert list(back["xai_method"].values) == ["gradient", "input_x_gradient"]
    xr.testing.assert_allclose(back["attribution"].load(), heat["attribution"])


def test_string_labels_are_not_a_coordinate_variable(tmp_path):
    """The compliance checker crashed on a string coordinate variable (and check_cf said
    nothing): labels are an auxiliary coordinate in the file, the index again when read."""
    ds = xr.Dataset({"a": (("m", "lat"), np.ones((2, 3)), {"long_name": "a", "units": "1"})},
                    coords={"m": ["ig", "gradient"], "lat": [0.0, 1.0, 2.0]})
    ds["lat"].attrs.update(units="degrees_north", standard_name="latitude")
    p = io.to_netcdf(ds, tmp_path / "labels.nc")
    attrs, dtypes = _file_attrs(p)
    assert "m" not in attrs and "m_label" in attrs
    assert io.check_cf(p) == []
    back = io.open_dataset(p)
    assert list(back.indexes["m"]) == ["ig", "gradient"] and "m_label" not in back.variables
    xr.testing.assert_equal(back["a"], ds["a"])


def test_check_cf_reports_a_checker_crash(tmp_path):
    ds = xr.Dataset({"a": (("m",), [1.0, 2.0])}, coords={"m": ["ig", "gradient"]})
    ds.attrs["Conventions"] = "CF-1.8"
    ds.to_netcdf(tmp_path / "raw.nc")
    assert any("crashed" in e for e in io.check_cf(tmp_path / "raw.nc"))


def test_cftime_sample_axis_written_as_float64(tmp_path, hgt):
    years = xr.date_range("2000-01-01", periods=hgt.sizes["time"], freq="YS",
                          calendar="noleap", use_cftime=True)
    ds = hgt.assign_coords(time=years)
    for v in ("z", "index"):
        ds[v].attrs["units"] = "m"
    p = io.to_netcdf(ds, tmp_path / "noleap.nc")
    attrs, dtypes = _file_attrs(p)
    assert dtypes["time"] == np.float64 and attrs["time"]["calendar"] == "noleap"
    assert io.check_cf(p) == []
    back = io.open_dataset(p)  # noleap: xarray decodes to cftime by itself
    assert list(back.indexes["time"]) == list(years)


def test_heatmaps_and_scores_written_in_one_compute(tmp_path):
    """Writing the heatmaps, then their scores, computed the heatmaps twice (two computes
    of the same graph); write_together runs one, and the files equal separate writes."""
    from tests.conftest import raise_if_dask_computes

    bench = xattrib.benchmark(n_samples=40, seed=0, chunks=20)
    heat = xattrib.attribute(bench, xattrib.Model.exact(bench), methods="gradient",
                             progress=False)
    scores = xattrib.score(heat, bench, metrics=["pearson"])
    with raise_if_dask_computes(max_computes=1):
        io.write_together({tmp_path / "heat.nc": heat, tmp_path / "scores.nc": scores},
                          progress=False)
    with raise_if_dask_computes(max_computes=2) as one_by_one:
        io.to_netcdf(heat, tmp_path / "h2.nc", progress=False)
        io.to_netcdf(scores, tmp_path / "s2.nc", progress=False)
    assert one_by_one.total == 2
    for a, b in (("heat.nc", "h2.nc"), ("scores.nc", "s2.nc")):
        xr.testing.assert_identical(io.open_dataset(tmp_path / a).drop_attrs(),
                                    io.open_dataset(tmp_path / b).drop_attrs())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h2.nc", "heat.nc", "s2.nc",
                                                          "scores.nc"]


def test_lazy_writes_show_dask_progress(tmp_path, capsys, monkeypatch):
    import dask.diagnostics

    seen = []
    real = dask.diagnostics.ProgressBar
    monkeypatch.setattr(dask.diagnostics, "ProgressBar",
                        lambda **kw: seen.append(kw) or real(minimum=0, **{
                            k: v for k, v in kw.items() if k != "minimum"}))
    bench = xattrib.benchmark(n_samples=40, seed=0, chunks=20)
    io.to_netcdf(bench, tmp_path / "lazy.nc")
    assert seen and "100%" in capsys.readouterr().out
    io.to_netcdf(bench.compute(), tmp_path / "eager.nc")  # nothing to compute: no bar
    io.to_netcdf(bench, tmp_path / "quiet.nc", progress=False)
    assert len(seen) == 1
