"""The transform protocol and what every built-in transform shares.

A transform maps the stacked valid cells of a grid, ``x`` of shape ``(batch, d)``, to
features ``s = forward(x)`` of shape ``(batch, p)`` and back with ``inverse(s)``; both are
differentiable torch functions that work on any device and batch size. It names its
features with ``features``, a 1-D :class:`xarray.DataArray` over the feature dimension
(its coordinates say what each feature is, with CF-style ``long_name``/``units``), and
may group them with ``groups``: a DataArray over the same dimension whose values label
each feature's group and whose name is the group coordinate (``wavenumber``,
``degree``...). ``group_coords`` may add coordinates over the group dimension (the
wavelength of a band).

Any object with ``forward``, ``inverse`` and ``features`` works as a transform in
:func:`xattrib.trim`; subclassing :class:`Transform` is optional.

Invalid (land) cells are filled with a **zero anomaly** before a gridded transform and
dropped again after its inverse. ``inverse(forward(x))`` may then differ from ``x`` (and
does for truncated or lossy transforms); TRIM's residual ``r = x − inverse(forward(x))``,
fixed per sample, keeps the explained function exact: ``f(inverse(s) + r) = f(x)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import xarray as xr
from torch import nn

from ..grid.cells import CellIndex
from ..grid.latlon import EARTH_RADIUS_M, cell_area, periodic_lon, ring_lon
from ..registry import Registry

__all__ = ["TRANSFORMS", "Grid", "Transform", "feature_grouping", "fits_message"]

EARTH_RADIUS_KM = EARTH_RADIUS_M / 1000.0

#: name → transform class; each member module registers its own
TRANSFORMS: Registry[Any] = Registry(
    "transform", extra=" or pass an object with forward, inverse and features (see "
                       "xattrib.transforms.base)",
    columns={"fits": lambda c: c.needs,
             "default groups": lambda c: f"`{c.default_groups}`",
             "truth space": lambda c: "yes" if c.has_truth_space else "no"})


def fits_message(name: str, grid: Grid) -> str:
    """'the grid is ... ; <name> needs ...; transforms that fit it: ...'."""
    ok = [n for n, c in TRANSFORMS.items() if n != name and c.fits_grid(grid)]
    return (f"the grid is {grid.describe()}; {name!r} needs {TRANSFORMS.get(name).needs}. "
            f"Transforms that fit this grid: {', '.join(ok) or 'a transform of your own'}")


@dataclass(frozen=True)
class Grid:
    """Geometry of a regular lat/lon grid, as the transforms need it."""

    lat: np.ndarray   # cell-centre latitudes, degrees
    lon: np.ndarray   # cell-centre longitudes, degrees
    regular: bool     # 1-D latitude and longitude coordinates

    @classmethod
    def from_cells(cls, cells: CellIndex) -> Grid:
        sc = cells.spatial
        lat = np.asarray(cells.mask[sc.lat].values, float)
        lon = np.asarray(cells.mask[sc.lon].values, float)
        return cls(lat, ring_lon(lon) if sc.regular else lon, sc.regular)

    @staticmethod
    def _step(v: np.ndarray) -> float | None:
        """The even spacing of a 1-D coordinate (None when uneven or a single point)."""
        if v.ndim != 1 or v.size < 2:
            return None
        d = np.diff(v)
        return float(d[0]) if np.allclose(d, d[0], rtol=1e-4, atol=1e-6) else None

    @property
    def dlat(self) -> float | None:
        return self._step(self.lat) if self.regular else None

    @property
    def dlon(self) -> float | None:
        if not self.regular:
            return None
        return self._step(np.unwrap(self.lon, period=360.0))

    @property
    def even(self) -> bool:
        return self.dlat is not None and self.dlon is not None

    @property
    def periodic_lon(self) -> bool:
        return self.regular and periodic_lon(self.lon)

    @property
    def global_lat(self) -> bool:
        dl = self.dlat
        return (dl is not None and abs(self.lat.size * abs(dl) - 180.0) < 1e-3 * abs(dl)
                and abs(abs(self.lat).max() - (90.0 - abs(dl) / 2)) < 1e-3 * abs(dl))

    def fits(self, name: str) -> bool:
        """Whether the registered transform ``name`` can be built on this grid."""
        return bool(TRANSFORMS.get(name).fits_grid(self))

    def describe(self) -> str:
        if not self.regular:
            return f"curvilinear, {self.lat.shape[0]} × {self.lat.shape[1]} cells"
        ny, nx = self.lat.size, self.lon.size
        span = (f"latitude {self.lat.min():g} to {self.lat.max():g}, longitude "
                f"{self.lon.min():g} to {self.lon.max():g}")
        dlat, dlon = self.dlat, self.dlon
        step = (f"{abs(dlat):g}° × {abs(dlon):g}°" if dlat is not None and dlon is not None
                else "uneven spacing")
        return f"{ny} × {nx} cells ({step}; {span})"

    def spacing_km(self) -> tuple[float, float]:
        """(dy, dx) in km: a latitude step, and a longitude step at the central latitude."""
        if not self.even:
            raise ValueError(f"the grid is {self.describe()}: physical wavelengths need even "
                             "spacing; pass spacing_km=(dy, dx)")
        mid = np.deg2rad(0.5 * (self.lat.min() + self.lat.max()))
        k = np.pi / 180.0 * EARTH_RADIUS_KM
        dlat, dlon = float(self.dlat or 0.0), float(self.dlon or 0.0)
        return abs(dlat) * k, abs(dlon) * k * float(np.cos(mid))


class Transform(nn.Module):
    """Base class of the built-in transforms over the valid cells of a grid.

    Subclasses set ``name``, ``features``, ``groups`` (and optionally ``group_coords``) and
    implement :meth:`forward` and :meth:`inverse` on ``(batch, d)`` ↔ ``(batch, p)`` tensors;
    :meth:`to_grid` / :meth:`from_grid` put stacked cells on the full grid with a zero
    anomaly on invalid cells and take them off again.
    """

    name: str = "transform"
    #: the grids it fits, in words (for error messages and the docs table)
    needs: ClassVar[str] = "any grid"
    #: the name of its default group coordinate, and what its features are (the docs table)
    default_groups: ClassVar[str] = "feature"
    description: ClassVar[str] = ""
    #: whether a benchmark can put its truth in this space (:meth:`truth_space`)
    has_truth_space: ClassVar[bool] = False
    flat: torch.Tensor

    def __init__(self, cells: CellIndex) -> None:
        super().__init__()
        self.cells = cells
        self.grid = Grid.from_cells(cells)
        # the image's layout: columns in their order round the sphere (a Fourier series
        # along a row needs the row's cells in order, whatever their longitude labels)
        self.register_buffer("flat", torch.as_tensor(cells.image_flat, dtype=torch.long),
                             persistent=False)
        self.features: xr.DataArray
        self.groups: xr.DataArray | None = None
        self.group_coords: dict[str, xr.DataArray] = {}
        self.params: dict[str, Any] = {}

    @classmethod
    def fits_grid(cls, grid: Grid) -> bool:
        """Whether this transform can be built on ``grid``."""
        return True

    @classmethod
    def from_name(cls, cells: CellIndex, data: Any = None, **kwargs: Any) -> Any:
        """The transform built by name in ``trim(transform=name)`` (``data``: what is
        explained, for transforms fitted on data)."""
        return cls(cells, **kwargs)

    @classmethod
    def truth_space(cls, cells: CellIndex, weights: np.ndarray, n_features: int,
                    covariance: np.ndarray | None) -> Any:
        """The orthonormal :class:`~xattrib.transforms.spaces.Space` of a benchmark whose
        truth lives in this transform's features (only where ``has_truth_space``)."""
        raise NotImplementedError(f"{cls.name!r} is not a truth space")

    # -- the grid ----------------------------------------------------------------------------
    def to_grid(self, x: torch.Tensor) -> torch.Tensor:
        """``(b, d)`` valid cells → ``(b, ny, nx)`` with 0 (zero anomaly) on invalid cells."""
        ny, nx = self.cells.shape
        grid = x.new_zeros(x.shape[0], ny * nx)
        return grid.index_copy(1, self.flat, x).view(x.shape[0], ny, nx)

    def from_grid(self, grid: torch.Tensor) -> torch.Tensor:
        """``(b, ny, nx)`` → ``(b, d)`` values of the valid cells."""
        return grid.reshape(grid.shape[0], -1).index_select(1, self.flat)

    @property
    def n_features(self) -> int:
        return int(self.features.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, s: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Attributes recorded with TRIM results: the transform and its parameters."""
        return {"xattrib_transform": self.name,
                **{f"xattrib_transform_{k}": v for k, v in self.params.items()}}

    def extra_repr(self) -> str:
        return (f"{self.grid.describe()}, {self.n_features} features"
                + "".join(f", {k}={v}" for k, v in self.params.items()))


def row_weights(cells: CellIndex) -> np.ndarray:
    """Area of one cell in each latitude row (∝ Δ sin φ), normalised to mean 1."""
    area = cell_area(cells.mask)
    w = np.asarray(area.values, float)[:, 0]
    return w / w.mean()


def feature_grouping(transform: Any, groups: Any = None
                     ) -> tuple[np.ndarray, xr.DataArray, dict[str, xr.DataArray]]:
    """``(index, labels, coords)``: each feature's group position, the group labels as a
    1-D DataArray over the group dimension, and extra coordinates over that dimension.

    ``groups``: None (the transform's own grouping; every feature alone if it has none),
    ``"features"`` (every feature alone), or a DataArray over the feature dimension whose
    values label each feature's group (its name names the group dimension).
    """
    features = transform.features
    fdim = features.dims[0]
    own = groups is None
    if groups is None:
        groups = getattr(transform, "groups", None)
    if isinstance(groups, str):
        if groups != "features":
            raise ValueError(f"groups must be None, 'features' or a DataArray over "
                             f"{fdim!r}, got {groups!r}")
        groups = None
    if groups is None:
        labels = features.copy()
        return np.arange(features.size), labels, {}
    if not isinstance(groups, xr.DataArray):
        raise TypeError(f"groups must be a DataArray over the feature dimension {fdim!r} "
                        f"(one group label per feature), got {type(groups).__name__}")
    if groups.dims != (fdim,) or groups.size != features.size:
        raise ValueError(f"groups must label each of the {features.size} features along "
                         f"{fdim!r}; got dims {groups.dims} and size {groups.size}")
    values = np.asarray(groups.values)
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise ValueError("groups has NaN labels; every feature needs a group")
    uniq, index = np.unique(values, return_inverse=True)
    gdim = str(groups.name or "group")
    extra = getattr(transform, "group_coords", {}) if own else {}
    first = next((c for c in extra.values() if gdim in c.dims), None)
    if first is not None:  # the transform's own order of its groups (coarse to fine...)
        order = [v for v in first[gdim].values if v in set(uniq.tolist())]
        if len(order) == uniq.size:
            pos = {v: i for i, v in enumerate(order)}
            index = np.array([pos[v] for v in uniq.tolist()])[index]
            uniq = np.asarray(order)
    if gdim == fdim:
        raise ValueError(f"the groups DataArray is named like the feature dimension {fdim!r}; "
                         "name it after the groups (e.g. 'band')")
    labels = xr.DataArray(uniq, dims=(gdim,), name=gdim, attrs=dict(groups.attrs))
    coords: dict[str, xr.DataArray] = {}
    for name, c in extra.items():
        coords[name] = c.sel({gdim: uniq}) if gdim in c.dims else c
    return index.astype(np.int64), labels, coords


def check_transform(transform: Any, d: int) -> None:
    """Raise a clear error unless ``transform`` follows the protocol for ``d`` inputs."""
    missing = [a for a in ("forward", "inverse", "features") if not hasattr(transform, a)]
    if missing:
        raise TypeError(f"a transform needs forward(x), inverse(s) and features (a 1-D "
                        f"DataArray naming the features); {type(transform).__name__} has no "
                        f"{', '.join(missing)}")
    f = transform.features
    if not isinstance(f, xr.DataArray) or f.ndim != 1:
        raise TypeError("transform.features must be a 1-D DataArray over the feature "
                        f"dimension, got {type(f).__name__}")
    cells = getattr(transform, "cells", None)
    if cells is not None and getattr(cells, "n_cells", d) != d:
        raise ValueError(f"the transform was built on a grid of {cells.n_cells} valid cells; "
                         f"the model reads {d}. Build it on the model's grid "
                         "(model.cells, or data with the same land mask)")
    with torch.no_grad():
        s = transform.forward(torch.zeros(2, d))
        if tuple(s.shape) != (2, f.size):
            raise ValueError(f"transform.forward((2, {d})) returned shape {tuple(s.shape)}; "
                             f"features says {f.size} features, so expected (2, {f.size})")
        back = transform.inverse(s)
        if tuple(back.shape) != (2, d):
            raise ValueError(f"transform.inverse((2, {f.size})) returned shape "
                             f"{tuple(back.shape)}; expected (2, {d}) (the model's inputs)")
