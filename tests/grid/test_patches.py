import numpy as np
import pytest

import xattrib
from xattrib.grid import CellIndex, patches


def _members(labels):
    v = labels.values
    out = {}
    for (i, j), lab in np.ndenumerate(v):
        if np.isfinite(lab):
            out.setdefault(int(lab), []).append((i, j))
    return out


def test_patches_cover_valid_cells_only_with_consecutive_labels():
    g = xattrib.grid.make_grid(resolution=20.0, mask="ocean")
    p = patches(g, size=2)
    valid = g["mask"].values
    assert bool(np.isnan(p.values[~valid]).all()) and bool(np.isfinite(p.values[valid]).all())
    labels = np.unique(p.values[valid])
    np.testing.assert_array_equal(labels, np.arange(labels.size))
    for cells in _members(p).values():  # each patch inside one 2 × 2 block (no wrap here)
        rows, cols = zip(*cells, strict=True)
        assert max(rows) // 2 == min(rows) // 2


@pytest.mark.parametrize("size, offset", [(5, 0), (2, 1)])
def test_patches_wrap_the_dateline_on_global_grids(size, offset):
    g = xattrib.grid.make_grid(resolution=30.0)  # 12 longitudes, every cell valid
    p = patches(g, size=size, offset=offset)
    assert p.attrs["wraps_dateline"] == 1
    spans = [cells for cells in _members(p).values()
             if {j for _, j in cells} >= {0, 11}]
    assert spans, "no patch spans the first and last longitude"
    sizes = [len(c) for c in _members(p).values()]
    assert max(sizes) <= size * (size + (12 % size))


def test_a_regional_grid_does_not_wrap(small_grid):
    p = patches(small_grid, size=3)
    assert p.attrs["wraps_dateline"] == 0
    nx = small_grid.sizes["lon"]
    assert not any({j for _, j in c} >= {0, nx - 1} for c in _members(p).values())


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_bad_size(small_grid, size):
    with pytest.raises(ValueError, match="size must be a positive whole number"):
        patches(small_grid, size=size)


def test_group_ids_refuse_nan_on_valid_cells_and_other_grids(small_grid):
    cells = CellIndex.from_mask(small_grid["mask"])
    p = patches(small_grid, size=2)
    i, j = np.argwhere(small_grid["mask"].values)[0]
    holed = p.where(~((p["lat"] == p["lat"][i]) & (p["lon"] == p["lon"][j])))
    with pytest.raises(ValueError, match="NaN on 1 valid cells"):
        xattrib.grid.group_ids(holed, cells)
    with pytest.raises(ValueError, match="groups"):
        xattrib.grid.group_ids(p.isel(lon=slice(1, None)), cells)
    with pytest.raises(ValueError, match="besides latitude and longitude"):
        xattrib.grid.group_ids(p.expand_dims(member=2), cells)
