"""``"fourier"``: the 2-D Fourier transform of a (regional) grid, grouped in radial bands."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
import xarray as xr

from ..grid.cells import CellIndex
from ._dft import RealDFT
from .base import TRANSFORMS, Grid, Transform, fits_message
from .spaces import Space, orthonormalise

__all__ = ["Fourier"]


class Fourier(Transform):
    """2-D discrete Fourier transform over (lat, lon), as an orthonormal real basis.

    Features are the independent real and imaginary parts of the coefficients at
    ``(k_lat, k_lon)`` (integer cycles per domain; ``torch.fft``). Invalid cells hold a zero
    anomaly. The FFT treats the domain as periodic, so a regional field's edges leak into
    all wavenumbers, as with any FFT of a limited area.

    Default groups are radial wavenumber bands: ``wavenumber`` = round(``|κ|`` L / ``band_width``)
    · ``band_width`` in cycles per domain, where κ = (k_lat / L_y, k_lon / L_x) is the
    physical wavenumber and L = √(L_x L_y) the side of the equal-area square domain (on a
    square domain this is √(k_lat² + k_lon²)). Each band also carries its ``wavelength``
    (L / wavenumber, km).

    Parameters
    ----------
    cells : CellIndex
        The grid and its valid cells (``model.cells``).
    band_width : float
        Width of the radial bands in cycles per domain.
    spacing_km : (float, float), optional
        (dy, dx) grid spacing in km; by default from the latitudes and longitudes (dx at
        the central latitude).

    Examples
    --------
    >>> import torch, xattrib
    >>> from xattrib.transforms import Fourier
    >>> cells = xattrib.CellIndex.from_data(xattrib.datasets.pacific_sst())
    >>> t = Fourier(cells)
    >>> x = torch.randn(3, cells.n_cells)
    >>> bool(torch.allclose(t.inverse(t(x)), x, atol=1e-5))
    True
    >>> t.groups.name, int(t.features.size) == cells.shape[0] * cells.shape[1]
    ('wavenumber', True)
    """

    name = "fourier"
    needs: ClassVar[str] = ('any regular grid (regional or global)')
    description: ClassVar[str] = (
        'real and imaginary parts of the 2-D FFT coefficients (k_lat, k_lon), an orthonormal real basis; bands carry a `wavelength` (km)')
    default_groups: ClassVar[str] = "wavenumber"
    has_truth_space: ClassVar[bool] = True

    @classmethod
    def fits_grid(cls, grid: Grid) -> bool:
        return grid.even

    @classmethod
    def truth_space(cls, cells: CellIndex, weights: np.ndarray, n_features: int,
                    covariance: np.ndarray | None) -> Space:
        """The real 2-D Fourier basis functions in order of radial wavenumber, restricted to
        the valid cells and orthonormalised in that order (area-weighted QR)."""
        k = n_features
        ft = cls(cells)
        assert ft.groups is not None
        order = np.argsort(ft.features["feature_wavenumber"].values, kind="stable")
        rows = torch.zeros(k, ft.n_features, dtype=torch.float64)  # k unit rows, not I
        rows[torch.arange(k), torch.as_tensor(order[:k])] = 1.0
        phi = ft.inverse(rows).numpy().T
        b = orthonormalise(phi, weights, k, "Fourier basis functions")
        f = ft.features.isel(fourier_feature=order[:k])
        return Space("fourier", b, weights, "fourier_mode", {
            "fourier_mode": (np.arange(k), {"long_name": "orthonormalised Fourier basis "
                                                          "function, by radial wavenumber",
                                            "units": "1"}),
            "k_lat": (f["k_lat"].values, dict(f["k_lat"].attrs)),
            "k_lon": (f["k_lon"].values, dict(f["k_lon"].attrs)),
            "part": (f["part"].values, dict(f["part"].attrs)),
        }, ("wavenumber", ft.groups.values[order[:k]], dict(ft.groups.attrs)))

    def __init__(self, cells: CellIndex, band_width: float = 1.0,
                 spacing_km: tuple[float, float] | None = None) -> None:
        super().__init__(cells)
        if not self.grid.fits("fourier"):
            raise ValueError(fits_message("fourier", self.grid))
        if not float(band_width) > 0:
            raise ValueError(f"band_width must be positive (cycles per domain), got {band_width}")
        ny, nx = cells.shape
        self.dft = RealDFT((ny, nx))
        dy, dx = spacing_km if spacing_km is not None else self.grid.spacing_km()
        ly, lx = ny * float(dy), nx * float(dx)
        side = float(np.sqrt(lx * ly))
        k = self.dft.wavenumbers
        kappa = np.hypot(k[:, 0] / ly, k[:, 1] / lx)  # cycles per km
        radial = kappa * side
        with np.errstate(divide="ignore"):
            wavelength = np.where(kappa > 0, 1.0 / np.where(kappa > 0, kappa, 1.0), np.nan)
        fdim = "fourier_feature"
        self.features = xr.DataArray(
            np.arange(k.shape[0]), dims=(fdim,), name=fdim,
            attrs={"long_name": "index of a real Fourier coefficient", "units": "1"},
            coords={
                "k_lat": (fdim, k[:, 0], {"long_name": "meridional wavenumber (cycles per domain)",
                                          "units": "1"}),
                "k_lon": (fdim, k[:, 1], {"long_name": "zonal wavenumber (cycles per domain)",
                                          "units": "1"}),
                "part": (fdim, self.dft.parts, {"long_name": "real or imaginary part"}),
                "feature_wavenumber": (fdim, radial, {
                    "long_name": "radial wavenumber (cycles per domain)", "units": "1"}),
                "feature_wavelength": (fdim, wavelength, {
                    "long_name": "wavelength of the coefficient", "units": "km"}),
            })
        bw = float(band_width)
        band = np.round(radial / bw) * bw
        self.groups = xr.DataArray(band, dims=(fdim,), name="wavenumber", attrs={
            "long_name": "radial wavenumber band (cycles per domain)", "units": "1",
            "band_width": bw, "domain_side_km": side})
        centres = np.unique(band)
        with np.errstate(divide="ignore"):
            wl = np.where(centres > 0, side / np.where(centres > 0, centres, 1.0), np.nan)
        self.group_coords = {"wavelength": xr.DataArray(
            wl, dims=("wavenumber",), coords={"wavenumber": centres},
            attrs={"long_name": "wavelength of the band centre (NaN: the domain mean)",
                   "units": "km"})}
        self.params = {"band_width": bw, "spacing_km": [float(dy), float(dx)]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dft.forward(self.to_grid(x))

    def inverse(self, s: torch.Tensor) -> torch.Tensor:
        return self.from_grid(self.dft.inverse(s))


TRANSFORMS.register("fourier", Fourier)
