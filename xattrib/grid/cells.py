"""Stack gridded fields to ``(sample, cell)`` over valid cells and back.

Networks see a plain matrix of valid cells; users see ``(sample, lat, lon)`` with NaN on
invalid cells. :class:`CellIndex` remembers which cells are valid on which grid, so the round
trip is exact and a model can check that new data lives on the grid it was trained on.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .latlon import SpatialCoords, area_weights, find_latlon, lon_ring, tidy_attrs, valid_mask

__all__ = ["CellIndex", "gather_cells", "scatter_cells"]


def gather_cells(values: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """``(..., ny, nx) -> (..., d)``: the valid cells (flat indices ``flat``) of each field."""
    lead = values.shape[:-2]
    return values.reshape(*lead, values.shape[-2] * values.shape[-1])[..., flat]


def _runs(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions (in ``flat``) and lengths of runs of consecutive flat indices."""
    breaks = np.flatnonzero(np.diff(flat) != 1) + 1
    starts = np.concatenate([[0], breaks]).astype(np.intp)
    return starts, np.diff(np.concatenate([starts, [flat.size]]))


def scatter_cells(values: np.ndarray, flat: np.ndarray, shape: tuple[int, int],
                  out: np.ndarray | None = None) -> np.ndarray:
    """``(..., d) -> (..., ny, nx)`` with NaN on cells not listed in ``flat``.

    Land masks make valid cells come in long runs along longitude; copying whole runs as
    slices, and writing NaN only into the gaps between them, touches every output value
    once and is about twice as fast as fill-then-fancy-index. ``out``, if given, is a
    writable ``(..., ny * nx)`` array (a strided view is fine) to fill.
    """
    lead = values.shape[:-1]
    size = shape[0] * shape[1]
    if out is None:
        out = np.empty((*lead, size), dtype=np.result_type(values.dtype, np.float32))
    starts, lengths = _runs(flat)
    # runs in increasing order only (cells listed round the sphere from a column that is not
    # the first in the array come in another order: then fill and fancy-index)
    if starts.size * 4 < flat.size and np.all(flat[starts[1:]] > flat[starts[1:] - 1]):
        end = 0
        for s, n in zip(starts, lengths, strict=True):
            f = int(flat[s])
            if f > end:
                out[..., end:f] = np.nan
            out[..., f:f + n] = values[..., s:s + n]
            end = f + int(n)
        if end < size:
            out[..., end:] = np.nan
    else:
        out[...] = np.nan
        out[..., flat] = values
    return out.reshape(*lead, *shape)


def _differs(name: str, got: np.ndarray, want: np.ndarray) -> str:
    """Where two coordinates differ: how many points, and the first that does."""
    off = ~np.isclose(got, want, atol=1e-6)
    i = int(np.flatnonzero(off.ravel())[0])
    return (f"{name} differs at {int(off.sum())} of {got.size} points (the first at index "
            f"{i}: {got.ravel()[i]:g}, expected {want.ravel()[i]:g})")


def _convention_fix(name: str, got: np.ndarray, want: np.ndarray, is_lon: bool) -> str | None:
    """The fix when the same points are written another way: a longitude convention
    (−180…180 against 0…360) or the opposite order."""
    if is_lon and np.allclose(np.sort(got % 360), np.sort(want % 360), atol=1e-6):
        to = "0…360" if want.min() >= 0 else "−180…180"
        conv = ("da.assign_coords({n}=da.{n} % 360)" if want.min() >= 0 else
                "da.assign_coords({n}=(da.{n} + 180) % 360 - 180)").format(n=name)
        order = (f".sortby('{name}')" if np.all(np.diff(want) > 0) else
                 f", then .reindex({name}=<the expected longitudes>) for this grid's order")
        return (f"The same longitudes in another convention: convert to {to}, e.g. "
                f"{conv}{order} (no regridding needed).")
    if np.allclose(got[::-1], want, atol=1e-6):
        return (f"The same {name} in the opposite order: da.sortby('{name}', "
                f"ascending={bool(want[0] < want[-1])}) (no regridding needed).")
    return None


@dataclass(eq=False)
class CellIndex:
    """The valid cells of a grid and how to stack/unstack fields over them.

    Build it from a field (``CellIndex.from_data``) or a boolean mask (``CellIndex.from_mask``).

    Examples
    --------
    >>> from xattrib.grid import make_grid
    >>> g = make_grid(resolution=30.0, mask="ocean")
    >>> cells = CellIndex.from_mask(g["mask"])
    >>> x = xr.DataArray(np.ones((4, 6, 12)), dims=("sample", "lat", "lon"),
    ...                  coords={"lat": g.lat, "lon": g.lon}).where(g["mask"])
    >>> s = cells.stack(x)
    >>> s.dims, s.sizes["cell"] == cells.n_cells
    (('sample', 'cell'), True)
    >>> bool(cells.unstack(s).equals(x))  # attributes that cannot hold are left out
    True
    """

    spatial: SpatialCoords
    mask: xr.DataArray  # bool over spatial dims, with the grid's coordinates
    #: each valid cell's flat position in the data's own (lat, lon) layout, listed in the
    #: cells' order: row by row, and along each row round the sphere (``columns``)
    flat: np.ndarray = field(init=False)
    #: each valid cell's flat position on the *image* of the grid, whose columns are in
    #: their order round the sphere; neighbours on the image are neighbours on the sphere
    #: (patches, neighbour tables, convolutions, transforms read this). Ascending.
    image_flat: np.ndarray = field(init=False)
    #: the data's columns in their order round the sphere (:func:`~xattrib.grid.lon_ring`)
    columns: np.ndarray = field(init=False)
    #: whether the longitudes close the circle (the image wraps east–west)
    periodic: bool = field(init=False)

    def __post_init__(self) -> None:
        # the mask is ours: none of the data's attributes (units, source, standard_name)
        # hold for it, nor stale ones of its coordinates (see tidy_attrs)
        mask = tidy_attrs(self.mask.astype(bool))
        mask.attrs = {"long_name": "valid cells", **{
            k: v for k, v in mask.attrs.items() if k == "flag_meanings"}}
        self.mask = mask
        valid = np.asarray(self.mask.values, bool)
        nx = valid.shape[1]
        if self.spatial.regular:
            # the cells' order, and the image's layout, come from where the columns are on
            # the sphere, not from how they are labelled: the same grid written −80…40 or
            # 0…360 (sorted or not) lists the same cells in the same order
            self.columns, self.periodic = lon_ring(self.mask[self.spatial.lon].values)
        else:
            self.columns, self.periodic = np.arange(nx), False
        self.image_flat = np.flatnonzero(valid[:, self.columns].ravel())
        row, col = np.divmod(self.image_flat, nx)
        self.flat = row * nx + self.columns[col]
        if self.flat.size == 0:
            raise ValueError("the grid has no valid cells (mask is all False / data all NaN)")

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_mask(cls, mask: xr.DataArray) -> CellIndex:
        sc = find_latlon(mask)
        return cls(sc, mask.transpose(*sc.dims).reset_coords(drop=True)
                   .assign_coords({c: mask[c] for c in (sc.lat, sc.lon)}))

    @classmethod
    def from_data(cls, da: xr.DataArray, sample_dim: str | None = None) -> CellIndex:
        """Valid cells = finite in every sample (refuses NaNs present in only some samples)."""
        sc = find_latlon(da)
        m = valid_mask(da, sample_dim=sample_dim, spatial=sc)
        return cls(sc, m.transpose(*sc.dims).assign_coords({c: da[c] for c in (sc.lat, sc.lon)}))

    # -- properties ---------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return int(self.flat.size)

    @property
    def shape(self) -> tuple[int, int]:
        s = self.mask.shape
        return (int(s[0]), int(s[1]))

    @functools.cached_property
    def area(self) -> np.ndarray:
        """``(n_cells,)`` cell-area weights of the valid cells, summing to 1 (read-only;
        computed once per index: evaluate, TRIM spaces and EOFs all need them)."""
        w = np.asarray(area_weights(self.mask, mask=self.mask).values, float).ravel()[self.flat]
        w.flags.writeable = False
        return w

    def cell_coords(self) -> dict[str, tuple[str, np.ndarray]]:
        """Latitude/longitude of every valid cell, as coordinates along ``cell``."""
        lat = self.mask[self.spatial.lat].values
        lon = self.mask[self.spatial.lon].values
        if self.spatial.regular:
            lat = np.broadcast_to(lat[:, None], self.shape)
            lon = np.broadcast_to(lon[None, :], self.shape)
        return {self.spatial.lat: ("cell", lat.ravel()[self.flat]),
                self.spatial.lon: ("cell", lon.ravel()[self.flat])}

    def neighbours(self, n_variables: int = 1) -> np.ndarray:
        """``(d, 4)``: the valid neighbour (north, south, east, west) of each valid cell in
        the cells' order, −1 where there is none: neighbours on the sphere, whatever the
        longitude labels, wrapping east–west on a grid that goes round the globe. Several
        variables (each one's cells in turn): ``(V·d, 4)``, a cell's neighbours are those of
        the same variable (ROAD and the robustness metrics read it)."""
        if n_variables > 1:
            one = self.neighbours()
            d = self.n_cells
            return np.concatenate([np.where(one >= 0, one + v * d, -1)
                                   for v in range(n_variables)])
        ny, nx = self.shape
        pos = np.full(ny * nx, -1, np.int64)
        pos[self.image_flat] = np.arange(self.n_cells)
        r, c = np.divmod(self.image_flat, nx)
        out = np.full((self.n_cells, 4), -1, np.int64)
        for k, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, 1), (0, -1))):
            rr, cc = r + dr, c + dc
            if self.periodic:
                cc = cc % nx
            ok = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
            out[ok, k] = pos[rr[ok] * nx + cc[ok]]
        return out

    # -- checks -------------------------------------------------------------------------
    def check_grid(self, da: xr.Dataset | xr.DataArray, what: str = "the data") -> SpatialCoords:
        """Raise if ``da`` is not on this grid, saying what differs; else its coordinates."""
        try:
            sc = find_latlon(da)
        except ValueError as err:
            raise ValueError(f"{what} has no usable latitude/longitude: {err}") from None
        problems, fixes = [], []
        for name, ref, is_lon in ((sc.lat, self.mask[self.spatial.lat], False),
                                  (sc.lon, self.mask[self.spatial.lon], True)):
            got = np.asarray(da[name].values, dtype=float)
            want = np.asarray(ref.values, dtype=float)
            if got.shape != want.shape:
                problems.append(f"{name} has {got.size} points, expected {want.size}")
            elif not np.allclose(got, want, atol=1e-6):
                problems.append(_differs(name, got, want))
                fixes.append(_convention_fix(name, got, want, is_lon))
        if problems:
            fix = next((f for f in fixes if f), None)
            raise ValueError(
                f"{what} is not on the expected grid: " + "; ".join(problems) + ". "
                + (fix or "Regrid it (e.g. ds.interp_like) or use data on the same grid."))
        return sc

    # -- stack / unstack ----------------------------------------------------------------
    def stack(self, da: xr.DataArray) -> xr.DataArray:
        """``(..., lat, lon) -> (..., cell)`` over valid cells; lazy for dask inputs."""
        sc = self.check_grid(da)
        out = xr.apply_ufunc(
            gather_cells, da, input_core_dims=[list(sc.dims)], output_core_dims=[["cell"]],
            dask="parallelized", kwargs={"flat": self.flat}, output_dtypes=[da.dtype],
            dask_gufunc_kwargs={"output_sizes": {"cell": self.n_cells}},
            keep_attrs=True,
        )
        drop = [c for c in out.coords if set(out[c].dims) & set(sc.dims) - {"cell"}]
        return out.drop_vars(drop).assign_coords(self.cell_coords())

    def unstack(self, stacked: xr.DataArray, cell_dim: str = "cell") -> xr.DataArray:
        """``(..., cell) -> (..., lat, lon)`` with NaN on invalid cells; lazy for dask inputs."""
        if stacked.sizes.get(cell_dim) != self.n_cells:
            raise ValueError(
                f"expected {self.n_cells} values along {cell_dim!r}, got "
                f"{stacked.sizes.get(cell_dim)}; was it stacked on another grid?"
            )
        dims = list(self.spatial.dims)
        stacked = stacked.drop_vars([c for c in stacked.coords if cell_dim in stacked[c].dims])
        out = xr.apply_ufunc(
            scatter_cells, stacked, input_core_dims=[[cell_dim]], output_core_dims=[dims],
            dask="parallelized", kwargs={"flat": self.flat, "shape": self.shape},
            output_dtypes=[np.result_type(stacked.dtype, np.float32)],
            dask_gufunc_kwargs={"output_sizes": dict(zip(dims, self.shape, strict=True))},
            keep_attrs=True,
        )
        return out.assign_coords({c: self.mask[c] for c in self.mask.coords})

    # -- serialisation ------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        """The grid and mask as a small Dataset (for saving with a model)."""
        return self.mask.rename("mask").to_dataset()

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> CellIndex:
        return cls.from_mask(ds["mask"].astype(bool))
