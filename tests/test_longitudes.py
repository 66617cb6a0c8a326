"""A grid is a set of cells on the sphere: nothing may depend on how its longitudes are written.

Property (hypothesis): relabel a regional or global grid's longitudes (±360, ``% 360``,
−180…180) and reorder its columns (``sortby``, a roll) — cell areas, patches, neighbour
tables, the benchmark drawn with the same seed and the scores of maps on it are the same
cell by cell. Regional grids are drawn anywhere, so they cross Greenwich and the dateline.
Also the case a user met: the ``hgt_djf.nc`` 500 hPa file that ``eofs`` ships (−80…40°E)
rewritten in 0…360.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import xattrib
from xattrib.grid import CellIndex, cell_area, lon_ring, patches, ring_lon

RELABELS = {
    "plus 360": lambda v: v + 360.0,
    "minus 360": lambda v: v - 360.0,
    "mod 360": lambda v: v % 360.0,
    "to -180..180": lambda v: (v + 180.0) % 360.0 - 180.0,
}


@st.composite
def grids(draw, min_rows=1):
    """A regular grid (15° or 30°), regional anywhere on the globe or global, random mask."""
    res = draw(st.sampled_from([15.0, 30.0]))
    per_circle = int(360 / res)
    ny = draw(st.integers(min_rows, 3))
    south = draw(st.integers(-90 // int(res), 90 // int(res) - ny)) * res
    nx = draw(st.integers(2, per_circle))
    west = draw(st.integers(-per_circle, per_circle)) * res
    g = xattrib.grid.make_grid(resolution=res, lat=(south, south + res * ny),
                               lon=(west, west + res * nx), mask=None)
    flat = draw(arrays(bool, ny * nx, elements=st.booleans()))
    flat[draw(st.integers(0, ny * nx - 1))] = True
    return g.assign(mask=(g["mask"].dims, flat.reshape(ny, nx)))


@st.composite
def relabellings(draw):
    return (draw(st.sampled_from(sorted(RELABELS))), draw(st.booleans()),
            draw(st.integers(0, 23)))


def _relabel(g: xr.Dataset, how: tuple[str, bool, int]) -> xr.Dataset:
    name, sort, roll = how
    f = RELABELS[name]
    out = g.assign_coords(lon=("lon", f(g["lon"].values), g["lon"].attrs),
                          lon_bnds=(("lon", "nv"), f(g["lon_bnds"].values)))
    if sort:
        return out.sortby("lon")
    return out.roll(lon=roll % g.sizes["lon"], roll_coords=True)


def _back(da: xr.DataArray, original: xr.Dataset) -> xr.DataArray:
    """``da`` (on a relabelled grid) with its columns matched to ``original``'s by position
    on the sphere, and ``original``'s labels."""
    key = np.round(np.asarray(da["lon"].values) % 360.0, 6)
    want = np.round(np.asarray(original["lon"].values) % 360.0, 6)
    pos = [int(np.flatnonzero(key == w)[0]) for w in want]
    return da.isel(lon=pos).assign_coords(lon=original["lon"])


def _bench(grid, **kw):
    return xattrib.benchmark(grid, covariance={"length_scale_km": 1500.0}, **kw)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=grids(), how=relabellings())
def test_areas_patches_neighbours_do_not_depend_on_labels(grid, how):
    other = _relabel(grid, how)
    np.testing.assert_allclose(_back(cell_area(other), grid).values, cell_area(grid).values,
                               rtol=1e-12)
    for size, offset in ((2, 0), (3, 1)):
        a, b = patches(grid, size=size, offset=offset), patches(other, size=size, offset=offset)
        np.testing.assert_array_equal(_back(b, grid).values, a.values)  # labels too
    ca, cb = CellIndex.from_mask(grid["mask"]), CellIndex.from_mask(other["mask"])
    assert ca.periodic == cb.periodic
    # the same cells in the same order, so the same neighbour table, index for index
    la, lb = ca.cell_coords(), cb.cell_coords()
    np.testing.assert_array_equal(la["lat"][1], lb["lat"][1])
    np.testing.assert_allclose(la["lon"][1] % 360.0, lb["lon"][1] % 360.0)
    np.testing.assert_array_equal(ca.neighbours(), cb.neighbours())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=grids(min_rows=2), how=relabellings(), seed=st.integers(0, 2**16))
def test_same_seed_same_benchmark_and_scores_in_any_convention(grid, how, seed):
    # (two rows at least: score infers a field's latitude edges from its centres)
    other = _relabel(grid, how)
    a = _bench(grid, n_samples=6, seed=seed).compute()
    b = _bench(other, n_samples=6, seed=seed).compute()
    for v in ("x", "truth"):
        np.testing.assert_allclose(_back(b[v], grid).values, a[v].values, rtol=1e-6,
                                   atol=1e-6)
    np.testing.assert_allclose(b["y"].values, a["y"].values, rtol=1e-6, atol=1e-6)
    sa = xattrib.score(a["x"], a["truth"], metrics=["pearson", "nmae", "cosine"])
    sb = xattrib.score(b["x"], b["truth"], metrics=["pearson", "nmae", "cosine"])
    for m in sa.data_vars:
        np.testing.assert_allclose(sb[m].values, sa[m].values, rtol=1e-6, atol=1e-9)


def test_lon_ring_starts_at_the_western_edge_or_180w():
    order, periodic = lon_ring(np.array([0.0, 20.0, 40.0, 280.0, 300.0]))
    assert order.tolist() == [3, 4, 0, 1, 2] and not periodic
    order, periodic = lon_ring(np.arange(0.0, 360.0, 90.0))  # global: first east of 180°W
    assert order.tolist() == [2, 3, 0, 1] and periodic
    np.testing.assert_array_equal(ring_lon(np.array([350.0, 10.0, -30.0])),
                                  [-30.0, -10.0, 10.0])


def _hgt():
    from eofs.examples import example_data_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file's reference date string
        with xr.open_dataset(example_data_path("hgt_djf.nc")) as ds:
            z = ds["z"].isel(pressure=0, drop=True).sel(latitude=slice(20, 70)).load()
    return (z - z.mean("time")).rename("z")


def test_hgt_djf_in_0_360_gives_the_same_areas_patches_benchmark_and_figure(tmp_path):
    z = _hgt()
    z360 = z.assign_coords(longitude=z["longitude"] % 360).sortby("longitude")

    def back(da):
        key = np.asarray(da["longitude"].values) % 360.0
        pos = [int(np.flatnonzero(np.isclose(key, w))[0])
               for w in np.asarray(z["longitude"].values) % 360.0]
        return da.isel(longitude=pos)

    a0, a1 = cell_area(z), cell_area(z360)
    np.testing.assert_allclose(back(a1).values, a0.values, rtol=1e-12)
    assert float(a0.max() / a0.min()) < 12  # cos 20° / cos 70° ≈ 2.7 times the pole row's
    np.testing.assert_array_equal(back(patches(z360, size=2)).values,
                                  patches(z, size=2).values)
    b0 = xattrib.benchmark(z, n_samples=20, seed=3).compute()
    b1 = xattrib.benchmark(z360, n_samples=20, seed=3).compute()
    np.testing.assert_array_equal(back(b1["truth"]).values, b0["truth"].values)
    np.testing.assert_array_equal(b1["y"].values, b0["y"].values)
    # the figure: both draw the region as one block from 80°W to 40°E
    from xattrib.plots import close, plot_maps

    figs = []
    for b in (b0, b1):
        heat = b["truth"].expand_dims(xai_method=["truth"]).to_dataset(name="attribution")
        fig = plot_maps(heat, b["truth"], path=tmp_path / "maps.png")
        figs.append(fig)
        mesh = fig.axes[0].collections[0]
        x = mesh.get_coordinates()[0, :, 0]  # the column edges drawn
        assert np.all(np.diff(x) > 0) and x[-1] - x[0] == pytest.approx(122.5)
        xlo, xhi = fig.axes[0].get_xlim()
        assert xhi - xlo == pytest.approx(122.5)
    np.testing.assert_array_equal(figs[0].axes[0].collections[0].get_array(),
                                  figs[1].axes[0].collections[0].get_array())
    close(*figs)
