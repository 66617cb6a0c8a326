"""Groups of cells: square superpixels over the valid cells, and label maps checked against a
grid. Krell et al. (2023, 2025) attribute to superpixels to cut the variance of heatmaps
under strong input correlation; ``attribute(..., groups=labels)`` takes any label map (these
patches, Niño boxes, basins)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .cells import CellIndex
from .latlon import require_xarray

__all__ = ["group_ids", "patches"]


def _cells_of(grid: Any, what: str) -> CellIndex:
    require_xarray(grid, what, "a grid (a Dataset with 'mask'), a benchmark, a mask or a field")
    if isinstance(grid, xr.Dataset):
        if "mask" not in grid:
            raise ValueError(f"{what} is a Dataset without a 'mask' variable: pass a grid "
                             "(xattrib.grid.make_grid), a benchmark or a boolean mask")
        return CellIndex.from_mask(grid["mask"].astype(bool))
    if grid.dtype == bool:
        return CellIndex.from_mask(grid)
    return CellIndex.from_data(grid)


def patches(grid: xr.Dataset | xr.DataArray, size: int = 2, offset: int = 0) -> xr.DataArray:
    """Square superpixels of ``size`` × ``size`` cells over the valid cells of a grid.

    Parameters
    ----------
    grid : Dataset or DataArray
        A grid or benchmark (its ``mask``), a boolean mask, or a field whose NaNs mark
        invalid cells.
    size : int
        Cells per side.
    offset : int
        Shift the patches this many cells eastwards. Patches are cut from the grid's
        columns in their order round the sphere (the western edge of a regional grid first,
        180°W on a global one), so they are the same whatever the longitude labels. On a
        grid whose longitudes go round
        the globe the patches wrap the dateline: a last, narrower column of patches joins
        the first, so a patch can span the seam (and with ``offset`` any patch can).

    Returns
    -------
    DataArray (lat, lon) named ``group``: patch labels 0, 1, … over the valid cells (in
    order of first appearance), NaN on invalid cells and patches of land alone skipped.

    Examples
    --------
    >>> import xattrib
    >>> g = xattrib.grid.make_grid(resolution=30.0, mask="ocean")
    >>> p = patches(g, size=2)
    >>> p.dims, int(p.max()) + 1 == len(set(p.values[p.notnull().values].tolist()))
    (('lat', 'lon'), True)
    """
    if isinstance(size, bool) or int(size) != size or int(size) < 1:
        raise ValueError(f"size must be a positive whole number of cells, got {size!r}")
    size = int(size)
    cells = _cells_of(grid, "grid")
    ny, nx = cells.shape
    # positions on the image (columns in their order round the sphere), so a patch never
    # joins columns that are neighbours in the array only (40°E beside 280°E when sorted)
    iy, ix = np.divmod(cells.image_flat, nx)
    wrap = cells.periodic
    if wrap:
        ix = (ix + int(offset)) % nx
        px = (ix // size) % max(nx // size, 1)  # a narrower last column joins the first
    else:
        px = (ix + int(offset)) // size
    if np.any(px < 0):
        raise ValueError(f"offset {offset} moves patches off a grid that does not wrap; use "
                         "an offset of 0 or more")
    raw = (iy // size) * (int(px.max()) + 1) + px
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # labels in order of first appearance
    labels = order[inverse].astype(float)
    out = cells.unstack(xr.DataArray(labels, dims="cell")).rename("group")
    return out.assign_attrs(long_name=f"patch of {size} x {size} cells", units="1",
                            patch_size=size, patch_offset=int(offset),
                            wraps_dateline=int(wrap))


def group_ids(labels: xr.DataArray, cells: CellIndex, what: str = "groups"
              ) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, values)``: each valid cell's group index 0..G-1 and the sorted label values
    (every finite label of the map, also those only on invalid cells), from a label map on
    ``cells``' grid (NaN allowed on invalid cells only)."""
    require_xarray(labels, what, "a label map DataArray (lat, lon), e.g. grid.patches(...)")
    if not isinstance(labels, xr.DataArray):
        raise TypeError(f"{what} must be a label map DataArray (lat, lon), e.g. "
                        "xattrib.grid.patches(bench, size=2)")
    cells.check_grid(labels, what=what)
    extra = [d for d in labels.dims if d not in cells.spatial.dims]
    if extra:
        raise ValueError(f"{what} has dimensions {extra} besides latitude and longitude: one "
                         "label per grid cell")
    vals = cells.stack(labels).values
    if vals.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers (group labels), got {vals.dtype}")
    bad = ~np.isfinite(vals.astype(float))
    if bad.any():
        raise ValueError(f"{what} is NaN on {int(bad.sum())} valid cells: give every valid "
                         "cell a group (NaN only where the model has no input)")
    # every label on the map, valid cells or not: a group of invalid cells alone gets 0, as
    # in truth.groupby(labels).sum(), so the two line up whatever the map labels on land
    everywhere = np.asarray(labels.values, float).ravel()
    values = np.unique(np.concatenate([everywhere[np.isfinite(everywhere)],
                                       vals.astype(float)])).astype(vals.dtype)
    ids = np.searchsorted(values, vals)
    return ids.astype(np.int64), values
