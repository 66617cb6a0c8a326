import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xattrib
from xattrib.grid import (
    EARTH_RADIUS_M,
    area_weights,
    cell_area,
    find_latlon,
    make_grid,
    tidy_attrs,
    valid_mask,
)

SPHERE = 4 * np.pi * EARTH_RADIUS_M**2


@pytest.mark.parametrize("res", [2.5, 5.0, 10.0, 30.0])
def test_global_grid_area_is_sphere(res):
    g = make_grid(res, mask=None)
    assert g.sizes["lat"] == round(180 / res) and g.sizes["lon"] == round(360 / res)
    assert abs(float(g["cell_area"].sum()) / SPHERE - 1) < 1e-3
    # bounds tile the domain exactly
    assert np.allclose(g.lat_bnds[1:, 0], g.lat_bnds[:-1, 1])
    assert float(g.lat_bnds.min()) == -90 and float(g.lat_bnds.max()) == 90


@pytest.mark.parametrize(
    "lat,lon", [((-30, 30), (120, 280)), ((0, 60), (-180, 0)), ((-90, 0), (0, 360))]
)
def test_regional_grids(lat, lon):
    g = make_grid(10.0, lat=lat, lon=lon, mask="ocean")
    assert float(g.lat.min()) > lat[0] and float(g.lon.max()) < lon[1]
    # area of a lat band: 2πR²(sin φ2 − sin φ1) × dlon/360
    band = 2 * np.pi * EARTH_RADIUS_M**2 * (np.sin(np.deg2rad(lat[1])) - np.sin(np.deg2rad(lat[0])))
    assert np.isclose(float(g["cell_area"].sum()), band * (lon[1] - lon[0]) / 360)


def test_ocean_and_land_masks_are_complements():
    o = make_grid(10.0, mask="ocean")["mask"]
    la = make_grid(10.0, mask="land")["mask"]
    assert o.dtype == bool and bool((o ^ la).all())
    # ocean covers about 71% of the Earth's surface
    w = make_grid(10.0, mask=None)["cell_area"]
    frac = float(w.where(o).sum() / w.sum())
    assert 0.65 < frac < 0.78
    # spot checks: Sahara is land, central Pacific is ocean
    assert not bool(o.sel(lat=25, lon=15)) and bool(o.sel(lat=5, lon=-155))


def test_lon_convention_kept_and_mask_consistent():
    a = make_grid(10.0, lon=(-180, 180))
    b = make_grid(10.0, lon=(0, 360))
    assert float(b.lon.min()) == 5.0 and float(a.lon.min()) == -175.0
    rolled = b["mask"].assign_coords(lon=((b.lon + 180) % 360) - 180).sortby("lon")
    assert bool((rolled.values == a["mask"].values).all())
    assert np.allclose(cell_area(a).sum(), cell_area(b).sum())


def test_descending_latitude_area_same():
    g = make_grid(10.0, mask=None)
    flipped = g.isel(lat=slice(None, None, -1))
    assert np.allclose(cell_area(flipped).values, cell_area(g).values[::-1])
    # without bounds, edges are inferred from centres: still the sphere
    bare = xr.DataArray(np.zeros((18, 36)), dims=("lat", "lon"),
                        coords={"lat": g.lat.values[::-1], "lon": g.lon.values})
    assert abs(float(cell_area(bare).sum()) / SPHERE - 1) < 1e-3


@pytest.mark.parametrize("names", [("latitude", "longitude"), ("lat", "lon"), ("nav_lat", "nav_lon")])
def test_find_latlon_by_name(names):
    da = xr.DataArray(np.zeros((3, 4)), dims=names,
                      coords={names[0]: [0.0, 1, 2], names[1]: [0.0, 1, 2, 3]})
    sc = find_latlon(da)
    assert (sc.lat, sc.lon) == names and sc.regular


def test_find_latlon_by_cf_attributes_only():
    da = xr.DataArray(np.zeros((3, 4)), dims=("yy", "xx"), coords={
        "yy": ("yy", [0.0, 1, 2], {"units": "degrees_north"}),
        "xx": ("xx", [0.0, 1, 2, 3], {"standard_name": "longitude"})})
    sc = find_latlon(da)
    assert (sc.lat, sc.lon) == ("yy", "xx")


def test_find_latlon_curvilinear():
    lat2d, lon2d = np.meshgrid(np.linspace(-10, 10, 3), np.linspace(0, 30, 4), indexing="ij")
    da = xr.DataArray(np.zeros((3, 4)), dims=("y", "x"), coords={
        "nav_lat": (("y", "x"), lat2d, {"standard_name": "latitude", "units": "degrees_north"}),
        "nav_lon": (("y", "x"), lon2d, {"standard_name": "longitude", "units": "degrees_east"})})
    sc = find_latlon(da)
    assert sc.dims == ("y", "x") and not sc.regular
    w = area_weights(da)
    assert np.isclose(float(w.sum()), 1.0)
    assert float(w.isel(y=1, x=0)) > float(w.isel(y=0, x=0))  # equator cells weigh more


def test_find_latlon_missing_raises_with_fix():
    da = xr.DataArray(np.zeros((3, 4)), dims=("a", "b"))
    with pytest.raises(ValueError, match="standard_name='latitude'"):
        find_latlon(da)


@pytest.mark.parametrize("kw,match", [
    ({"resolution": -1}, "resolution"), ({"resolution": 7.0}, "divide"),
    ({"lat": (10, -10)}, "lat must be"), ({"mask": "sea"}, "mask must be"),
])
def test_make_grid_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        make_grid(**{"resolution": 10.0, **kw})


def test_area_weights_masked_sum_to_one(grid10):
    w = area_weights(grid10)
    assert np.isclose(float(w.sum()), 1.0)
    assert float(w.where(~grid10["mask"]).sum()) == 0.0


def test_valid_mask_refuses_partial_nans(field):
    bad = field.copy()
    bad[0, 2, 3] = np.nan  # an ocean cell missing in one sample only
    assert bool(valid_mask(field).equals(valid_mask(field.chunk({"sample": 5}))))
    with pytest.raises(ValueError, match="NaN in some samples"):
        valid_mask(bad)


@settings(max_examples=15, deadline=None)
@given(res=st.sampled_from([5.0, 10.0, 15.0, 20.0, 30.0]),
       south=st.integers(-6, 0), span=st.integers(1, 6))
def test_area_additivity(res, south, span):
    """Splitting a domain in two along latitude splits its area exactly."""
    s, n = south * 15.0, min(90.0, (south + span) * 15.0)
    if n <= s or (n - s) % res:
        return
    whole = float(cell_area(make_grid(res, lat=(s, n), mask=None)).sum())
    band = 2 * np.pi * EARTH_RADIUS_M**2 * (np.sin(np.deg2rad(n)) - np.sin(np.deg2rad(s)))
    assert np.isclose(whole, band)


def _curvilinear(da):
    """The same field on 2-D lat/lon coordinates over (y, x) dims, as ocean models write."""
    la, lo = np.meshgrid(da["lat"].values, da["lon"].values, indexing="ij")
    out = da.rename(lat="y", lon="x").drop_vars(["y", "x"])
    return out.assign_coords(
        lat=(("y", "x"), la, {"standard_name": "latitude", "units": "degrees_north"}),
        lon=(("y", "x"), lo, {"standard_name": "longitude", "units": "degrees_east"}))


def test_curvilinear_benchmark_equals_the_regular_one():
    sst = xattrib.datasets.pacific_sst()
    reg = xattrib.benchmark(sst, n_samples=50, seed=2, chunks=25).compute()
    cur = xattrib.benchmark(_curvilinear(sst), n_samples=50, seed=2, chunks=25).compute()
    assert cur["x"].dims == ("sample", "y", "x")
    for v in ("x", "y", "truth"):
        np.testing.assert_array_equal(cur[v].values, reg[v].values)
    # areas from the centres' spacing: the bounds formula to second order (5° cells)
    np.testing.assert_allclose(cur["cell_area"].values, reg["cell_area"].values, rtol=1e-3)


def test_descending_latitude_and_seam_crossing_region():
    """Latitude north to south, and a Pacific region given in −180…180 so that it crosses
    the dateline: the benchmark keeps the data's own order and its truth stays complete."""
    sst = xattrib.datasets.pacific_sst()
    for da in (sst.isel(lat=slice(None, None, -1)),
               sst.assign_coords(lon=((sst["lon"] + 180) % 360) - 180)):
        b = xattrib.benchmark(da, n_samples=40, seed=0, chunks=20).compute()
        np.testing.assert_array_equal(b["lat"].values, da["lat"].values)
        np.testing.assert_array_equal(b["lon"].values, da["lon"].values)
        assert bool((b["cell_area"] > 0).all())
        np.testing.assert_allclose(b["truth"].sum(["lat", "lon"]), b["y"], atol=1e-5)
        assert int(b["mask"].sum()) == int(sst.notnull().all("time").sum())


def test_tidy_attrs_keeps_what_holds():
    lon_global = xr.Variable("lon", np.arange(0, 360, 30.0), {
        "units": "degrees_east", "standard_name": "longitude", "topology": "circular",
        "modulo": 360.0, "bounds": "lon_bnds", "actual_range": [0.0, 330.0]})
    ds = xr.Dataset({"lon_bnds": (("lon", "nv"), np.zeros((12, 2)))},
                    coords={"lon": lon_global})
    kept = tidy_attrs(ds)["lon"].attrs  # global with its bounds: all but the source's range
    assert kept == {k: v for k, v in lon_global.attrs.items() if k != "actual_range"}
    region = tidy_attrs(ds.isel(lon=slice(0, 4)).drop_vars("lon_bnds"))["lon"].attrs
    assert region == {"units": "degrees_east", "standard_name": "longitude"}
    assert ds["lon"].attrs == lon_global.attrs  # the input is left alone


def test_is_land_equals_global_land_mask():
    """The packed 1 km mask answers as the package's own (which holds 933 MB unpacked)."""
    from global_land_mask import globe

    from xattrib.grid.latlon import is_land

    rng = np.random.default_rng(0)
    la, lo = rng.uniform(-90, 90, 100_000), rng.uniform(-180, 180, 100_000)
    la[:4], lo[:4] = [90, -90, 0, -89.999], [180, -180, 0, 179.9999]
    np.testing.assert_array_equal(is_land(la, lo), globe.is_land(la, lo))
