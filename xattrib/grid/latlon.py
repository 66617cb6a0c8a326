"""Grids: find latitude/longitude, build regular grids, area weights, land masks.

Coordinates are found by meaning through cf-xarray (``standard_name``, ``units``,
``axis``), falling back to cf-xarray's name guessing (``lat``, ``latitude``, ``nav_lat``...),
never from a hard-coded list of names here.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import xarray as xr

EARTH_RADIUS_M = 6_371_000.0

__all__ = [
    "EARTH_RADIUS_M",
    "SpatialCoords",
    "area_weights",
    "cell_area",
    "find_latlon",
    "require_xarray",
    "land_fraction",
    "tidy_attrs",
    "make_grid",
    "lon_ring",
    "periodic_lon",
    "ring_lon",
    "valid_mask",
]


@dataclass(frozen=True)
class SpatialCoords:
    """Names of an object's latitude/longitude coordinates and its spatial dimensions.

    For a regular grid ``dims == (lat, lon)``; for a curvilinear grid (2-D ``nav_lat``-style
    coordinates) ``dims`` are the dimensions those coordinates span, e.g. ``("y", "x")``.
    """

    lat: str
    lon: str
    dims: tuple[str, ...]

    @property
    def regular(self) -> bool:
        return self.dims == (self.lat, self.lon)


def _one_coord(obj: xr.Dataset | xr.DataArray, key: str) -> str | None:
    names = obj.cf.coordinates.get(key, [])
    if len(names) > 1:
        raise ValueError(
            f"found several {key} coordinates {names}; keep one (e.g. obj.drop_vars({names[1:]!r}))"
        )
    return names[0] if names else None


def require_xarray(obj: Any, argument: str, kind: str = "a Dataset or DataArray") -> None:
    """Refuse what is not xarray (a numpy array, a list) with the one-line conversion."""
    if isinstance(obj, xr.Dataset | xr.DataArray):
        return
    raise TypeError(
        f"{argument} must be {kind} with latitude and longitude coordinates, got "
        f"{type(obj).__module__}.{type(obj).__name__}; wrap an array first, e.g. "
        f"xr.DataArray(arr, dims=('sample', 'lat', 'lon'), coords={{'lat': lat, 'lon': lon}})"
        + (".to_dataset(name='x')" if "Dataset" in kind and "DataArray" not in kind else ""))


#: what cf-xarray found, by the names, dims and attributes it reads (it never reads values):
#: its lookup costs ~2 ms, and every xattrib call checks the grids of its inputs
_FOUND: dict[tuple, tuple[str | None, str | None]] = {}
_FOUND_LOCK = threading.Lock()


def _coords_key(obj: xr.Dataset | xr.DataArray) -> tuple:
    def one(name: Any, v: Any) -> tuple:
        return (str(name), tuple(map(str, v.dims)),
                tuple(sorted((str(k), str(a)) for k, a in v.attrs.items())))

    variables = [one(n, v) for n, v in obj.coords.items()]
    if isinstance(obj, xr.Dataset):
        variables += [one(n, v) for n, v in obj.data_vars.items()]
    else:
        variables.append(one(obj.name, obj))
    return (type(obj).__name__, tuple(sorted(variables)))


def _latlon_names(obj: xr.Dataset | xr.DataArray) -> tuple[str | None, str | None]:
    lat, lon = _one_coord(obj, "latitude"), _one_coord(obj, "longitude")
    if lat is None or lon is None:
        guessed = obj.cf.guess_coord_axis(verbose=False)
        lat = lat or _one_coord(guessed, "latitude")
        lon = lon or _one_coord(guessed, "longitude")
    return lat, lon


def find_latlon(obj: xr.Dataset | xr.DataArray) -> SpatialCoords:
    """Find the latitude and longitude coordinates of ``obj``.

    Looks them up through cf-xarray by their CF attributes first, then by cf-xarray's name
    guessing, so ``lat``, ``latitude``, ``nav_lat`` and any name carrying
    ``standard_name='latitude'`` or ``units='degrees_north'`` all work.

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> da = xr.DataArray(np.zeros((2, 3)), dims=("latitude", "longitude"),
    ...                   coords={"latitude": [0.0, 10.0], "longitude": [0.0, 10.0, 20.0]})
    >>> find_latlon(da)
    SpatialCoords(lat='latitude', lon='longitude', dims=('latitude', 'longitude'))
    """
    key = _coords_key(obj)
    found = _FOUND.get(key)
    if found is None:
        found = _latlon_names(obj)
        with _FOUND_LOCK:  # dask threads look grids up concurrently
            if len(_FOUND) >= 256:
                _FOUND.pop(next(iter(_FOUND)))
            _FOUND[key] = found
    lat, lon = found
    if lat is None or lon is None:
        missing = "latitude" if lat is None else "longitude"
        raise ValueError(
            f"could not find a {missing} coordinate among {sorted(map(str, obj.coords))}; "
            f"give it standard_name='{missing}' and units="
            f"'{'degrees_north' if missing == 'latitude' else 'degrees_east'}'"
        )
    lat_dims, lon_dims = obj[lat].dims, obj[lon].dims
    if lat_dims == (lat,) and lon_dims == (lon,):
        dims: tuple[str, ...] = (lat, lon)
    elif lat_dims == lon_dims and len(lat_dims) == 2:
        dims = tuple(map(str, lat_dims))
    else:
        raise ValueError(
            f"latitude {lat!r} spans {lat_dims} and longitude {lon!r} spans {lon_dims}; "
            "expected 1-D dimension coordinates or two 2-D coordinates on the same dims"
        )
    return SpatialCoords(str(lat), str(lon), dims)


def _edges_from_centres(c: np.ndarray) -> np.ndarray:
    """Cell edges of a 1-D axis from its centres (midpoints, extrapolated at the ends)."""
    c = np.asarray(c, dtype=float)
    if c.size == 1:
        raise ValueError("cannot infer cell bounds from a single coordinate value; add bounds")
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _bounds(obj: xr.Dataset | xr.DataArray, name: str, lon: bool = False) -> np.ndarray:
    """(n, 2) bounds of a 1-D coordinate: its CF ``bounds`` variable if present, else inferred.

    Longitude edges are inferred between neighbours on the sphere (:func:`lon_ring`), not
    neighbours in the array: a 0…360 regional grid across Greenwich, or a sorted one, has a
    column 357.5 beside 0 and 40 beside 280, whose label midpoints are nowhere near an edge.
    """
    bname = obj[name].attrs.get("bounds")
    if isinstance(obj, xr.Dataset) and bname in obj.variables:
        b = np.asarray(obj[bname].values, dtype=float)
        if b.shape == (obj.sizes[name], 2):
            return b
    centres = np.asarray(obj[name].values, dtype=float)
    if not lon:
        edges = _edges_from_centres(centres)
        return np.stack([edges[:-1], edges[1:]], axis=1)
    order, _ = lon_ring(centres)
    edges = _edges_from_centres(ring_lon(centres))
    out = np.empty((centres.size, 2))
    out[order] = np.stack([edges[:-1], edges[1:]], axis=1)
    return out


def _lon_widths(bounds: np.ndarray) -> np.ndarray:
    """Widths in degrees of longitude cells from their (n, 2) bounds in any labelling
    (a cell written [358.75, 1.25] is 2.5° wide, [-1.25, 358.75] too; 360° stays 360°)."""
    raw = np.abs(bounds[:, 1] - bounds[:, 0])
    wrapped = np.abs((bounds[:, 1] - bounds[:, 0] + 180.0) % 360.0 - 180.0)
    whole = (raw > 180.0) & np.isclose(raw % 360.0, 0.0, atol=1e-9)
    return np.where(whole, 360.0, np.where(raw > 360.0, raw % 360.0, wrapped))


def _centred_diff(v: np.ndarray, axis: int, wrap: bool) -> np.ndarray:
    """Spacing of ``v`` along ``axis`` per index step: central differences inside, one-sided
    at the edges; longitude steps wrapped into (−180, 180]."""
    d = np.diff(v, axis=axis)
    if wrap:
        d = (d + 180.0) % 360.0 - 180.0
    d = np.moveaxis(d, axis, 0)
    out = np.empty((d.shape[0] + 1, *d.shape[1:]))
    out[0], out[-1] = d[0], d[-1]
    out[1:-1] = 0.5 * (d[:-1] + d[1:])
    return np.moveaxis(out, 0, axis)


def cell_area(obj: xr.Dataset | xr.DataArray, radius: float = EARTH_RADIUS_M) -> xr.DataArray:
    """Area of every grid cell in m², from the coordinate bounds.

    Uses the CF ``bounds`` variables when present and otherwise infers edges half-way between
    centres (latitude edges clipped to ±90°). Works for ascending or descending latitude and
    for longitudes in any labelling (0…360, −180…180, unsorted, across Greenwich or the
    dateline): edges are inferred between neighbours on the sphere. Curvilinear grids (2-D coordinates) use the local
    metric of the centres: R² cos φ times the Jacobian of (lon, lat) over the grid indices.

    Examples
    --------
    >>> g = make_grid(resolution=30.0, mask=None)
    >>> float(cell_area(g).sum() / (4 * np.pi * EARTH_RADIUS_M**2))
    1.0
    """
    sc = find_latlon(obj)
    if not sc.regular:
        lat, lon = obj[sc.lat].transpose(*sc.dims), obj[sc.lon].transpose(*sc.dims)
        if min(lat.shape) < 2:
            raise ValueError(f"cannot infer the cell areas of a curvilinear grid with a single "
                             f"row or column ({dict(zip(sc.dims, lat.shape, strict=True))})")
        # the local metric R² cos φ |∂(λ, φ)/∂(i, j)|, with central differences of the 2-D
        # centres (longitude differences wrapped): second-order accurate, and exact to
        # ~dφ²/24 against the bounds formula on a regular grid written as 2-D coordinates
        la, lo = np.asarray(lat.values, float), np.asarray(lon.values, float)
        d = [[_centred_diff(v, ax, wrap) for ax in (0, 1)] for v, wrap in ((lo, True),
                                                                           (la, False))]
        jac = np.abs(d[0][0] * d[1][1] - d[0][1] * d[1][0]) * np.deg2rad(1.0) ** 2
        values = radius**2 * np.cos(np.deg2rad(la)) * jac
        return xr.DataArray(values, dims=sc.dims, coords={sc.lat: lat, sc.lon: lon},
                            name="cell_area", attrs={
                                "standard_name": "cell_area", "units": "m2",
                                "long_name": "area of grid cell (from the centres' spacing)"})
    lat_b = np.clip(_bounds(obj, sc.lat), -90.0, 90.0)
    lon_b = _bounds(obj, sc.lon, lon=True)
    dsin = np.abs(np.sin(np.deg2rad(lat_b[:, 1])) - np.sin(np.deg2rad(lat_b[:, 0])))
    dlon = np.deg2rad(_lon_widths(lon_b))
    values = radius**2 * np.outer(dsin, dlon)
    return xr.DataArray(
        values, dims=sc.dims, coords={sc.lat: obj[sc.lat], sc.lon: obj[sc.lon]},
        name="cell_area", attrs={"standard_name": "cell_area", "units": "m2",
                                 "long_name": "area of grid cell"},
    )


def area_weights(obj: xr.Dataset | xr.DataArray, mask: xr.DataArray | None = None) -> xr.DataArray:
    """Cell-area weights normalised to sum to 1 over valid cells (0 on invalid cells).

    ``mask`` is a boolean DataArray over the spatial dims (True = valid); by default the
    ``mask`` variable of a Dataset, or all cells.
    """
    area = cell_area(obj)
    if mask is None and isinstance(obj, xr.Dataset) and "mask" in obj:
        mask = obj["mask"]
    if mask is not None:
        area = area.where(mask.astype(bool), 0.0)
    w = area / area.sum()
    return w.rename("area_weight").assign_attrs(
        long_name="normalised cell-area weight", units="1"
    )


def _to_180(lon: np.ndarray) -> np.ndarray:
    return ((np.asarray(lon, dtype=float) + 180.0) % 360.0) - 180.0


@functools.lru_cache(maxsize=1)
def _land_bits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 1 km land mask ``global-land-mask`` ships, packed 8 cells a byte (117 MB).

    Importing ``global_land_mask.globe`` keeps its 21,600 × 43,200 boolean array (933 MB) in
    memory for the life of the process, a third of the budget of a 1° benchmark; this reads
    the same file, packs it and lets the unpacked array go.
    """
    import importlib.util

    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover
        raise ImportError("global-land-mask is not installed (pip install global-land-mask)")
    path = Path(list(spec.submodule_search_locations)[0]) / "globe_combined_mask_compressed.npz"
    with np.load(path) as f:
        lat, lon = f["lat"], f["lon"]
        bits = np.packbits(f["mask"], axis=1)
    return bits, lat, lon


def is_land(lat: Any, lon: Any) -> np.ndarray:
    """Whether points are land on the 1 km mask of ``global-land-mask`` (the same answers as
    its ``globe.is_land``; longitudes −180…180)."""
    bits, lats, lons = _land_bits()
    la = np.clip(np.asarray(lat, float), lats.min(), lats.max())
    lo = np.clip(np.asarray(lon, float), lons.min(), lons.max())
    i = ((la - lats[0]) / (lats[1] - lats[0])).astype(int)
    j = ((lo - lons[0]) / (lons[1] - lons[0])).astype(int)
    return ((bits[i, j >> 3] >> (7 - (j & 7))) & 1) == 0  # the file's mask is True on ocean


def land_fraction(lat_bounds: np.ndarray, lon_bounds: np.ndarray, oversample: int = 6) -> np.ndarray:
    """Fraction of each cell that is land, from ``global-land-mask`` (1 km, shipped offline).

    Each cell is sampled on an ``oversample`` × ``oversample`` sub-grid of points.
    """
    t = (np.arange(oversample) + 0.5) / oversample
    lats = lat_bounds[:, :1] + (lat_bounds[:, 1:] - lat_bounds[:, :1]) * t  # (nlat, o)
    lons = lon_bounds[:, :1] + (lon_bounds[:, 1:] - lon_bounds[:, :1]) * t  # (nlon, o)
    la = np.clip(lats, -89.999, 89.999)[:, None, :, None]
    lo = _to_180(lons)[None, :, None, :]
    la, lo = np.broadcast_arrays(la, lo)
    land = is_land(la.ravel(), lo.ravel()).reshape(la.shape)
    return land.mean(axis=(2, 3))


def make_grid(
    resolution: float = 10.0,
    lat: tuple[float, float] = (-90.0, 90.0),
    lon: tuple[float, float] = (-180.0, 180.0),
    mask: str | None = "ocean",
    land_threshold: float = 0.5,
) -> xr.Dataset:
    """A regular lat/lon grid as a CF Dataset with bounds, cell areas and a validity mask.

    Parameters
    ----------
    resolution : float
        Cell size in degrees (both directions). Must divide the lat and lon spans.
    lat, lon : (float, float)
        South/north and west/east edges in degrees. Longitude may use −180…180 or 0…360;
        the grid keeps the convention given.
    mask : {"ocean", "land", None}
        Which cells are valid: ocean cells (land fraction below ``land_threshold``), land
        cells, or all cells.
    land_threshold : float
        Land fraction at or above which a cell counts as land.

    Returns
    -------
    xarray.Dataset
        Coordinates ``lat``, ``lon`` (cell centres, with ``lat_bnds``/``lon_bnds``) and
        variables ``mask`` (bool, True = valid) and ``cell_area`` (m²).

    Examples
    --------
    >>> g = make_grid(resolution=10.0, mask="ocean")
    >>> dict(g.sizes)
    {'lat': 18, 'lon': 36, 'nv': 2}
    >>> 0.6 < float(g["mask"].mean()) < 0.8
    True
    """
    if not np.isfinite(resolution) or resolution <= 0:
        raise ValueError(f"resolution must be a positive number of degrees, got {resolution!r}")
    south, north = map(float, lat)
    west, east = map(float, lon)
    if not -90.0 <= south < north <= 90.0:
        raise ValueError(f"lat must be (south, north) with -90 <= south < north <= 90, got {lat!r}")
    if not 0.0 < east - west <= 360.0:
        raise ValueError(f"lon must be (west, east) with 0 < east - west <= 360, got {lon!r}")
    if mask not in ("ocean", "land", None):
        raise ValueError(f"mask must be 'ocean', 'land' or None, got {mask!r}")
    nlat = (north - south) / resolution
    nlon = (east - west) / resolution
    if not (np.isclose(nlat, round(nlat)) and np.isclose(nlon, round(nlon))):
        raise ValueError(
            f"resolution {resolution} does not divide the domain lat={lat}, lon={lon}; "
            "choose a resolution that divides both spans"
        )
    lat_e = np.linspace(south, north, round(nlat) + 1)
    lon_e = np.linspace(west, east, round(nlon) + 1)
    lat_b = np.stack([lat_e[:-1], lat_e[1:]], axis=1)
    lon_b = np.stack([lon_e[:-1], lon_e[1:]], axis=1)
    ds = xr.Dataset(
        coords={
            "lat": ("lat", lat_b.mean(1), {"standard_name": "latitude", "long_name": "latitude",
                                            "units": "degrees_north", "axis": "Y",
                                            "bounds": "lat_bnds"}),
            "lon": ("lon", lon_b.mean(1), {"standard_name": "longitude", "long_name": "longitude",
                                            "units": "degrees_east", "axis": "X",
                                            "bounds": "lon_bnds"}),
        }
    )
    ds["lat_bnds"] = (("lat", "nv"), lat_b)
    ds["lon_bnds"] = (("lon", "nv"), lon_b)
    ds = ds.set_coords(["lat_bnds", "lon_bnds"])
    if mask is None:
        valid = np.ones((lat_b.shape[0], lon_b.shape[0]), dtype=bool)
        source = "all cells valid"
    else:
        frac = land_fraction(lat_b, lon_b)
        valid = frac < land_threshold if mask == "ocean" else frac >= land_threshold
        source = f"global-land-mask, land fraction threshold {land_threshold}"
    ds["mask"] = (("lat", "lon"), valid, {
        "long_name": f"valid ({mask or 'all'}) cells", "flag_values": np.array([0, 1], np.int8),
        "flag_meanings": "invalid valid", "source": source,
    })
    ds["cell_area"] = cell_area(ds)
    ds.attrs.update(title=f"xattrib {resolution} degree grid ({mask or 'all cells'})")
    return ds


def _first_true(flags: xr.DataArray) -> str:
    """``dim=value, ...`` of the first True element (in the array's own order)."""
    values = np.asarray(flags.values)
    idx = np.argwhere(values)[0]
    parts = []
    for dim, i in zip(flags.dims, idx, strict=True):
        v = flags[dim].values[i] if dim in flags.coords else i
        parts.append(f"{dim}={v}")
    return ", ".join(parts)


def valid_mask(
    da: xr.DataArray, sample_dim: str | None = None, spatial: SpatialCoords | None = None
) -> xr.DataArray:
    """Boolean mask over the spatial dims: True where ``da`` is finite in every sample.

    A cell that is NaN in some samples but not all is refused (NaNs must mark fixed invalid
    cells such as land, not missing observations) with an error saying how many cells and
    what to do. Computes ``da``'s NaN pattern (one reduction over ``sample_dim``).
    """
    sc = spatial or find_latlon(da)
    other = [d for d in da.dims if d not in sc.dims]
    if sample_dim is not None:
        other = [sample_dim]
    if np.issubdtype(da.dtype, np.floating):
        inf = xr.apply_ufunc(np.isinf, da, dask="allowed")
        n_inf = int(inf.sum())
        if n_inf:
            raise ValueError(
                f"{n_inf} values of {da.name or 'the input'!s} are infinite (the first at "
                f"{_first_true(inf)}); replace them, e.g. da.where(np.isfinite(da)) to mark "
                "them missing, or fix the source")
    isnan = da.isnull()
    any_nan = isnan.any(other) if other else isnan
    all_nan = isnan.all(other) if other else isnan
    any_nan, all_nan = xr.align(*(a.compute() for a in (any_nan, all_nan)))
    partial = int((any_nan & ~all_nan).sum())
    if partial:
        gaps = isnan & ~all_nan
        n_samples = int(gaps.any(list(sc.dims)).sum()) if other else 1
        raise ValueError(
            f"{partial} grid cells of {da.name or 'the input'!s} are NaN in some samples but not "
            f"in others ({n_samples} samples have such a gap; the first at "
            f"{_first_true(gaps)}); NaN must mark cells that are invalid in every sample "
            "(e.g. land). Fill the gaps (e.g. da.fillna(0) for anomalies) or mask those "
            f"cells everywhere (da.where(da.notnull().all({(other or ['sample'])[0]!r})))"
        )
    valid = ~all_nan
    return valid.rename("mask").assign_attrs(long_name="valid cells")


#: attributes that describe the values of the file they came from: untrue on a subset, a
#: regridded copy or anything computed from it
_SOURCE_VALUE_ATTRS = ("actual_range", "valid_range", "valid_min", "valid_max")
#: attributes saying a longitude axis wraps around the globe
_WRAP_ATTRS = ("topology", "modulo")


def periodic_lon(lon: Any) -> bool:
    """Whether 1-D longitudes go once round the globe at even spacing (the grid wraps),
    whatever their labelling and order.

    >>> periodic_lon(np.arange(0, 360, 30.0)), periodic_lon(np.arange(0, 90, 30.0))
    (True, False)
    >>> periodic_lon(np.roll(np.arange(-165, 180, 30.0), 5) % 360)
    True
    """
    v = np.asarray(getattr(lon, "values", lon), dtype=float)
    if v.ndim != 1 or v.size < 2:
        return False
    s = np.sort(v % 360.0)
    gaps = np.diff(np.concatenate([s, [s[0] + 360.0]]))
    step = 360.0 / v.size
    return bool(np.allclose(gaps, step, rtol=1e-4, atol=1e-6))


def lon_ring(lon: Any) -> tuple[np.ndarray, bool]:
    """``(order, periodic)``: the columns of a 1-D longitude axis in their order round the
    sphere going east, and whether they close the circle.

    The order depends on where the columns are, never on how their longitudes are written:
    −80…40 and the same columns as ``lon % 360`` (unsorted, or sorted so that 40 sits beside
    280) give the same columns in the same order. A regional grid starts after its widest
    gap (its western edge); a global one at the first column east of 180°W. Neighbours on the
    sphere are neighbours in this order (areas, patches, neighbours, convolutions, plots).

    Examples
    --------
    >>> lon = np.array([0.0, 20.0, 40.0, 280.0, 300.0, 320.0, 340.0])   # sorted 0…360
    >>> order, periodic = lon_ring(lon)
    >>> lon[order].tolist(), periodic
    ([280.0, 300.0, 320.0, 340.0, 0.0, 20.0, 40.0], False)
    """
    v = np.asarray(getattr(lon, "values", lon), dtype=float)
    if v.ndim != 1:
        raise ValueError(f"lon_ring takes 1-D longitudes, got shape {v.shape}")
    if v.size < 2:
        return np.arange(v.size), False
    w = v % 360.0
    srt = np.argsort(w, kind="stable")
    s = w[srt]
    gaps = np.diff(np.concatenate([s, [s[0] + 360.0]]))  # the gap east of each column
    periodic = periodic_lon(v)
    # start after the widest gap; ties (a global grid: every gap) broken by position on the
    # sphere, the column first east of 180°W, so the labels never choose
    starts = (np.flatnonzero(np.isclose(gaps, gaps.max(), rtol=1e-6, atol=1e-9)) + 1) % v.size
    key = (s[starts] - 180.0) % 360.0
    start = int(starts[np.argmin(key)])
    return np.roll(srt, -start), periodic


def ring_lon(lon: Any) -> np.ndarray:
    """Longitudes in :func:`lon_ring` order, increasing without a jump (for edges, spacing and
    plot axes): the first column keeps its label, the others follow it eastwards.

    >>> ring_lon(np.array([0.0, 20.0, 40.0, 300.0, 320.0, 340.0])).tolist()
    [300.0, 320.0, 340.0, 360.0, 380.0, 400.0]
    """
    v = np.asarray(getattr(lon, "values", lon), dtype=float)
    order, _ = lon_ring(v)
    r = v[order]
    return r[0] + (r - r[0]) % 360.0 if r.size else r


_XR = TypeVar("_XR", xr.Dataset, xr.DataArray)


def tidy_attrs(obj: _XR) -> _XR:
    """A shallow copy with inherited attributes that no longer hold removed.

    Coordinates and variables carried over from a user's file keep their metadata, but some
    of it describes that file, not ours: ``actual_range`` (and ``valid_*``) of the source's
    values, ``bounds`` naming a variable that is not carried along, ``topology: circular`` /
    ``modulo`` on a longitude axis that no longer spans the globe. CF checkers and CDO then
    complain about, or trust, something false. Everything else is kept.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> lon = xr.DataArray(np.arange(0, 90, 30.), dims="lon", attrs={
    ...     "units": "degrees_east", "topology": "circular", "bounds": "lon_bnds",
    ...     "actual_range": [0, 357.5]})
    >>> tidy_attrs(xr.Dataset(coords={"lon": lon}))["lon"].attrs
    {'units': 'degrees_east'}
    """
    out: Any = obj.copy(deep=False)
    if isinstance(out, xr.Dataset):
        variables = [(n, v) for n, v in out.variables.items()]
    else:
        variables = [(n, c.variable) for n, c in out.coords.items()] + [(out.name, out.variable)]
    names = {n for n, _ in variables}
    try:
        lon_names = set(out.cf.coordinates.get("longitude", []))
    except (KeyError, ValueError):
        lon_names = set()
    for name, var in variables:
        attrs = {k: v for k, v in var.attrs.items() if k not in _SOURCE_VALUE_ATTRS}
        if "bounds" in attrs and attrs["bounds"] not in names:
            del attrs["bounds"]
        if any(k in attrs for k in _WRAP_ATTRS) and not (name in lon_names and periodic_lon(var)):
            for k in _WRAP_ATTRS:
                attrs.pop(k, None)
        var.attrs = attrs
    return out
