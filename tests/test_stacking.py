import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from xattrib.stacking import CellIndex, gather_cells, scatter_cells

from .conftest import raise_if_dask_computes


def test_roundtrip_with_land(field, small_grid):
    cells = CellIndex.from_data(field)
    assert cells.n_cells == int(small_grid["mask"].sum())
    s = cells.stack(field)
    assert s.dims == ("sample", "cell") and not bool(s.isnull().any())
    back = cells.unstack(s)
    xr.testing.assert_identical(back, field)


def test_eager_and_dask_identical(field):
    cells = CellIndex.from_data(field)
    lazy = field.chunk({"sample": 5})
    with raise_if_dask_computes():
        s = cells.stack(lazy)
        back = cells.unstack(s)
    assert s.chunks is not None
    xr.testing.assert_identical(s.compute(), cells.stack(field))
    xr.testing.assert_identical(back.compute(), field)


def test_cell_coordinates_are_the_cells(field):
    cells = CellIndex.from_data(field)
    s = cells.stack(field)
    i = 7
    v = field.sel(lat=s.lat[i], lon=s.lon[i])
    np.testing.assert_array_equal(v.values, s.isel(cell=i).values)


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
