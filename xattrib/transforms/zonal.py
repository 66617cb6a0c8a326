"""``"zonal"``: Fourier series along each latitude circle, grouped by zonal wavenumber."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import xarray as xr

from ..grid.cells import CellIndex
from ._dft import RealDFT
from .base import EARTH_RADIUS_KM, TRANSFORMS, Grid, Transform, fits_message

__all__ = ["Zonal"]


class Zonal(Transform):
    """FFT along longitude for every latitude row, as an orthonormal real basis.

    Needs longitudes that go once round the globe at even spacing (the series is periodic);
    latitudes may cover any band. Features are the cosine and sine parts of zonal wavenumber
    ``m`` (cycles round the latitude circle) in each row, phases relative to the grid's first
    longitude; invalid cells hold a zero anomaly. Default groups: ``zonal_wavenumber`` m,
    with the ``equatorial_wavelength`` 2πR/m (km) of each.

    Examples
    --------
    >>> import torch, xattrib
    >>> from xattrib.transforms import Zonal
    >>> g = xattrib.grid.make_grid(resolution=30.0, mask="ocean")
    >>> t = Zonal(xattrib.CellIndex.from_mask(g["mask"]))
    >>> x = torch.randn(2, t.cells.n_cells)
    >>> bool(torch.allclose(t.inverse(t(x)), x, atol=1e-5))
    True
    >>> [int(m) for m in t.group_coords["equatorial_wavelength"]["zonal_wavenumber"][:3]]
    [0, 1, 2]
    """

    name = "zonal"
    needs: ClassVar[str] = (
        'a grid whose longitudes go once round the globe at even spacing')
    description: ClassVar[str] = (
        'cosine and sine parts of zonal wavenumber m in each latitude row, with an `equatorial_wavelength`')
    default_groups: ClassVar[str] = "zonal_wavenumber"

    @classmethod
    def fits_grid(cls, grid: Grid) -> bool:
        return grid.periodic_lon

    def __init__(self, cells: CellIndex) -> None:
        super().__init__(cells)
        if not self.grid.fits("zonal"):
            raise ValueError(fits_message("zonal", self.grid))
        ny, nx = cells.shape
        self.dft = RealDFT((nx,), lead=ny)
        m = np.tile(self.dft.wavenumbers[:, 0], ny)
        rows = np.repeat(np.arange(ny), nx)
        fdim = "zonal_feature"
        self.features = xr.DataArray(
            np.arange(ny * nx), dims=(fdim,), name=fdim,
            attrs={"long_name": "index of a real zonal Fourier coefficient", "units": "1"},
            coords={
                "feature_latitude": (fdim, self.grid.lat[rows], {
                    "long_name": "latitude of the row", "units": "degrees_north"}),
                "part": (fdim, np.tile(self.dft.parts, ny), {
                    "long_name": "cosine (re) or sine (im) part"}),
            })
        self.groups = xr.DataArray(m, dims=(fdim,), name="zonal_wavenumber", attrs={
            "long_name": "zonal wavenumber (cycles per latitude circle)",
            "units": "1"})
        ms = np.unique(m)
        with np.errstate(divide="ignore"):
            wl = np.where(ms > 0, 2 * np.pi * EARTH_RADIUS_KM / np.where(ms > 0, ms, 1), np.nan)
        self.group_coords = {"equatorial_wavelength": xr.DataArray(
            wl, dims=("zonal_wavenumber",), coords={"zonal_wavenumber": ms},
            attrs={"long_name": "wavelength at the equator (NaN: the zonal mean)",
                   "units": "km"})}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dft.forward(self.to_grid(x))

    def inverse(self, s: torch.Tensor) -> torch.Tensor:
        return self.from_grid(self.dft.inverse(s))


TRANSFORMS.register("zonal", Zonal)
