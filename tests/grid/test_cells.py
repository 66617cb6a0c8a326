import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import raise_if_dask_computes
from xattrib.grid.cells import CellIndex, gather_cells, scatter_cells
from xattrib.grid.latlon import tidy_attrs


def test_roundtrip_with_land(field, small_grid):
    cells = CellIndex.from_data(field)
    assert cells.n_cells == int(small_grid["mask"].sum())
    s = cells.stack(field)
    assert s.dims == ("sample", "cell") and not bool(s.isnull().any())
    back = cells.unstack(s)
    # the same, less the 'bounds' attribute naming a variable a DataArray cannot carry
    assert field["lon"].attrs.get("bounds") and "bounds" not in back["lon"].attrs
    xr.testing.assert_identical(back, tidy_attrs(field))


def test_eager_and_dask_identical(field):
    cells = CellIndex.from_data(field)
    lazy = field.chunk({"sample": 5})
    with raise_if_dask_computes():
        s = cells.stack(lazy)
        back = cells.unstack(s)
    assert s.chunks is not None
    xr.testing.assert_identical(s.compute(), cells.stack(field))
    xr.testing.assert_identical(back.compute(), tidy_attrs(field))


def test_cell_coordinates_are_the_cells(field):
    cells = CellIndex.from_data(field)
    s = cells.stack(field)
    i = 7
    v = field.sel(lat=s.lat[i], lon=s.lon[i])
    np.testing.assert_array_equal(v.values, s.isel(cell=i).values)


def test_area_weights_of_the_valid_cells(field):
    """Proportional to cos(latitude) on a regular grid (an independent formula), summing
    to 1 over the valid cells, computed once and read-only."""
    cells = CellIndex.from_data(field)
    s = cells.stack(field)
    want = np.cos(np.deg2rad(s["lat"].values))
    np.testing.assert_allclose(cells.area, want / want.sum(), rtol=1e-10)
    assert cells.area is cells.area and not cells.area.flags.writeable


def test_other_grid_is_refused(field):
    cells = CellIndex.from_data(field)
    moved = field.assign_coords(lon=field.lon + 5)
    with pytest.raises(ValueError, match="lon differs"):
        cells.stack(moved)
    with pytest.raises(ValueError, match="expected .* values along 'cell'"):
        cells.unstack(cells.stack(field).isel(cell=slice(0, 3)))


def test_serialisation_roundtrip(field):
    cells = CellIndex.from_data(field)
    again = CellIndex.from_dataset(cells.to_dataset())
    np.testing.assert_array_equal(again.flat, cells.flat)


@settings(max_examples=30, deadline=None)
@given(ny=st.integers(1, 6), nx=st.integers(1, 6), n=st.integers(0, 4), seed=st.integers(0, 99))
def test_gather_scatter_inverse(ny, nx, n, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((ny, nx)) < 0.6
    flat = np.flatnonzero(mask)
    vals = rng.standard_normal((n, flat.size))
    full = scatter_cells(vals, flat, (ny, nx))
    assert np.isnan(full[..., ~mask]).all()
    np.testing.assert_array_equal(gather_cells(full, flat), vals)


@settings(max_examples=40, deadline=None)
@given(nx=st.integers(4, 40), ny=st.integers(1, 5), runs=st.lists(
    st.tuples(st.integers(0, 200), st.integers(1, 40)), min_size=1, max_size=4))
def test_scatter_runs_into_strided_out(nx, ny, runs):
    """Long runs of valid cells take the slice path; every value of a dirty, strided
    output is written: data on valid cells, NaN on the rest."""
    size = ny * nx
    mask = np.zeros(size, bool)
    for start, length in runs:
        mask[start % size:start % size + length] = True
    flat = np.flatnonzero(mask)
    vals = np.arange(3 * flat.size, dtype=np.float32).reshape(3, flat.size)
    buf = np.full((3, size + 2), 7.0, np.float32)  # rows longer than the grid: strided
    full = scatter_cells(vals, flat, (ny, nx), out=buf[:, :size])
    assert full.shape == (3, ny, nx)
    assert np.shares_memory(full, buf)
    assert np.isnan(buf[:, :size][:, ~mask]).all()
    np.testing.assert_array_equal(buf[:, :size][:, mask], vals)
    np.testing.assert_array_equal(buf[:, size:], 7.0)  # nothing written past the grid
