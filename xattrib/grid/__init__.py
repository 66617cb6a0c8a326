"""Where the cells are: latitude and longitude found by CF meaning, regular grids, land masks,
cell areas and weights, and the index of valid cells that networks read.

A foundation: it imports nothing else of xattrib's.
"""

from .cells import CellIndex, gather_cells, scatter_cells
from .latlon import (
    EARTH_RADIUS_M,
    SpatialCoords,
    area_weights,
    cell_area,
    find_latlon,
    land_fraction,
    lon_ring,
    make_grid,
    periodic_lon,
    require_xarray,
    ring_lon,
    tidy_attrs,
    valid_mask,
)
from .patches import group_ids, patches

__all__ = ["EARTH_RADIUS_M", "CellIndex", "SpatialCoords", "area_weights", "cell_area",
           "find_latlon", "gather_cells", "group_ids", "land_fraction", "lon_ring", "make_grid",
           "patches", "periodic_lon", "ring_lon",
           "require_xarray", "scatter_cells", "tidy_attrs", "valid_mask"]
