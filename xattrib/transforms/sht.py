"""``"sht"``: real spherical harmonics on a global regular grid, grouped by total degree ℓ.

Why precomputed matrices and not a spherical-harmonic library: torch-harmonics' current wheel
needs a newer torch (it would pull a multi-GB CUDA build) and its older release is a C++
sdist; ducc0 and shtools work on numpy arrays, outside torch's autograd. The transform is
linear and separable, so it is an FFT along longitude (``torch.fft``) followed, for each
zonal order m, by a small latitude matrix built once here from scipy's normalised Legendre
functions: differentiable, batched and on any device, with (lmax + 1)² · nlat numbers
stored instead of a dense (features × cells) matrix.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
import xarray as xr

from ..grid.cells import CellIndex
from .base import EARTH_RADIUS_KM, TRANSFORMS, Grid, Transform, fits_message, row_weights
from .spaces import Space, orthonormalise

__all__ = ["SphericalHarmonics"]


class SphericalHarmonics(Transform):
    """Real spherical-harmonic coefficients up to degree ``lmax``.

    The basis is 4π-normalised (the mean of Y² over the sphere is 1), so ``s`` has the
    input's units and a constant field's only coefficient, at ℓ = 0, is the constant.
    Analysis is
    the area-weighted least-squares fit of the harmonics to the field, latitude by latitude
    after an FFT in longitude: exact for fields band-limited to ``lmax``; the rest goes to
    TRIM's residual. Invalid cells hold a zero anomaly. Default groups: ``degree`` ℓ, with
    the equivalent ``wavelength`` 2πR/√(ℓ(ℓ+1)) (km).

    Parameters
    ----------
    cells : CellIndex
        A global regular grid: latitude cell centres from pole to pole at even spacing,
        longitudes all round at even spacing, ascending.
    lmax : int, optional
        Largest degree; default ``nlat - 1`` (orders m are capped below the longitude
        Nyquist number, ``(nlon - 1) // 2``).

    Examples
    --------
    >>> import torch, xattrib
    >>> from xattrib.transforms import SphericalHarmonics
    >>> g = xattrib.grid.make_grid(resolution=15.0, mask=None)
    >>> t = SphericalHarmonics(xattrib.CellIndex.from_mask(g["mask"]), lmax=4)
    >>> ones = torch.ones(1, t.cells.n_cells)
    >>> round(float(t(ones)[0, 0]), 4)  # a constant is all ℓ = 0
    1.0
    """

    name = "sht"
    needs: ClassVar[str] = (
        'a global regular grid (latitude cell centres from pole to pole, longitude all round, even spacing)')
    description: ClassVar[str] = (
        'real spherical harmonics up to `lmax` (4π-normalised), with a `wavelength` 2πR/√(ℓ(ℓ+1))')
    default_groups: ClassVar[str] = "degree"
    has_truth_space: ClassVar[bool] = True
    synth: torch.Tensor
    anal: torch.Tensor
    pos: torch.Tensor
    phase: torch.Tensor

    @classmethod
    def fits_grid(cls, grid: Grid) -> bool:
        return grid.periodic_lon and grid.global_lat

    @classmethod
    def truth_space(cls, cells: CellIndex, weights: np.ndarray, n_features: int,
                    covariance: np.ndarray | None) -> Space:
        """Real spherical harmonics in order of degree, orthonormalised on the valid cells
        (area-weighted QR)."""
        k = n_features
        st = cls(cells)  # raises for grids that are not global
        assert st.groups is not None
        # the first k harmonics only: (d, k), never (d, (lmax + 1)²) on a 1° grid
        phi = st.inverse(torch.eye(k, st.n_features, dtype=torch.float64)).numpy().T
        b = orthonormalise(phi, weights, k, "spherical harmonics")
        f = st.features.isel(sh_feature=slice(0, k))
        return Space("sht", b, weights, "sh_mode", {
            "sh_mode": (np.arange(k), {"long_name": "orthonormalised spherical harmonic, by "
                                                    "degree", "units": "1"}),
            "order": (f["order"].values, dict(f["order"].attrs)),
            "part": (f["part"].values, dict(f["part"].attrs)),
        }, ("degree", st.groups.values[:k], dict(st.groups.attrs)))

    def __init__(self, cells: CellIndex, lmax: int | None = None) -> None:
        super().__init__(cells)
        g = self.grid
        if not g.fits("sht"):
            raise ValueError(fits_message("sht", g))
        if g.dlon is not None and g.dlon < 0:
            raise ValueError("sht needs ascending longitudes; sort them (ds.sortby(lon))")
        from scipy.special import sph_legendre_p_all

        ny, nx = cells.shape
        lmax = ny - 1 if lmax is None else int(lmax)
        if not 0 <= lmax <= ny - 1:
            raise ValueError(f"lmax must be between 0 and nlat - 1 = {ny - 1} for this "
                             f"{g.describe()} grid, got {lmax}")
        mmax = min(lmax, (nx - 1) // 2)
        theta = np.deg2rad(90.0 - g.lat)  # colatitude of each row
        p = sph_legendre_p_all(lmax, mmax, theta)[0]  # (l, m (wrapped), lat)
        p = p[:, : mmax + 1, :] * math.sqrt(4 * math.pi)  # 4π-normalised, m ≥ 0
        w = row_weights(cells)
        synth = np.zeros((mmax + 1, ny, lmax + 1))   # a_m(θ_j) = Σ_ℓ synth[m, j, ℓ] s_ℓm
        anal = np.zeros((mmax + 1, lmax + 1, ny))    # s_ℓm = Σ_j anal[m, ℓ, j] a_m(θ_j)
        for m in range(mmax + 1):
            pm = p[m:, m, :].T  # (lat, ℓ ≥ m)
            synth[m, :, m:] = pm
            gram = pm.T @ (w[:, None] * pm)
            anal[m, m:, :] = np.linalg.solve(gram, pm.T * w[None, :])
        self.register_buffer("synth", torch.as_tensor(synth, dtype=torch.float32),
                             persistent=False)
        self.register_buffer("anal", torch.as_tensor(anal, dtype=torch.float32),
                             persistent=False)
        ell, em = np.meshgrid(np.arange(lmax + 1), np.arange(mmax + 1), indexing="ij")
        valid = (ell >= em)
        # feature order: for each (ℓ, m) with m ≤ ℓ the cosine part, then (m > 0) the sine
        rows = []
        for ll in range(lmax + 1):
            for m in range(min(ll, mmax) + 1):
                rows.append((ll, m, 0))
                if m > 0:
                    rows.append((ll, m, 1))
        idx = np.asarray(rows)
        assert valid.sum() * 2 - (lmax + 1) == idx.shape[0]
        # positions in the (m, ℓ, part) coefficient array
        self.register_buffer("pos", torch.as_tensor(
            (idx[:, 1] * (lmax + 1) + idx[:, 0]) * 2 + idx[:, 2], dtype=torch.long),
            persistent=False)
        # longitude phase: coefficients refer to longitude 0, not the first grid column
        lam0 = np.deg2rad(g.lon[0])
        ph = np.exp(-1j * np.arange(mmax + 1) * lam0)
        self.register_buffer("phase", torch.as_tensor(
            np.stack([ph.real, ph.imag], -1), dtype=torch.float32), persistent=False)
        self.lmax, self.mmax, self.nlon = lmax, mmax, nx
        fdim = "sh_feature"
        self.features = xr.DataArray(
            np.arange(idx.shape[0]), dims=(fdim,), name=fdim,
            attrs={"long_name": "index of a real spherical-harmonic coefficient",
                   "units": "1"},
            coords={"order": (fdim, idx[:, 1], {"long_name": "spherical-harmonic order m",
                                                "units": "1"}),
                    "part": (fdim, np.where(idx[:, 2] == 0, "cos", "sin"), {
                        "long_name": "cosine or sine in longitude"})})
        self.groups = xr.DataArray(idx[:, 0], dims=(fdim,), name="degree", attrs={
            "long_name": "spherical-harmonic degree", "units": "1"})
        degs = np.arange(lmax + 1)
        with np.errstate(divide="ignore"):
            wl = np.where(degs > 0, 2 * np.pi * EARTH_RADIUS_KM / np.sqrt(
                np.maximum(degs * (degs + 1), 1)), np.nan)
        self.group_coords = {"wavelength": xr.DataArray(
            wl, dims=("degree",), coords={"degree": degs},
            attrs={"long_name": "equivalent wavelength 2πR/√(ℓ(ℓ+1)) (NaN: the global "
                                "mean)", "units": "km"})}
        self.params = {"lmax": lmax, "mmax": mmax}

    def _complex_phase(self, t: torch.Tensor) -> torch.Tensor:
        return torch.view_as_complex(self.phase.to(t.dtype).contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, nx, mm = x.shape[0], self.nlon, self.mmax + 1
        c = torch.fft.rfft(self.to_grid(x), dim=-1)[..., :mm] / nx   # (b, lat, m)
        c = c * self._complex_phase(x)
        scale = torch.full((mm,), math.sqrt(2.0), dtype=x.dtype, device=x.device)
        scale[0] = 1.0
        a = torch.stack([c.real * scale, -c.imag * scale], -1)         # (b, lat, m, 2)
        coef = torch.einsum("mlj,bjmp->bmlp", self.anal.to(x.dtype), a)  # (b, m, ℓ, 2)
        return coef.reshape(b, -1).index_select(1, self.pos)

    def inverse(self, s: torch.Tensor) -> torch.Tensor:
        b, nx, mm = s.shape[0], self.nlon, self.mmax + 1
        coef = s.new_zeros(b, mm * (self.lmax + 1) * 2).index_copy(1, self.pos, s)
        coef = coef.view(b, mm, self.lmax + 1, 2)
        a = torch.einsum("mjl,bmlp->bjmp", self.synth.to(s.dtype), coef)  # (b, lat, m, 2)
        scale = torch.full((mm,), 1 / math.sqrt(2.0), dtype=s.dtype, device=s.device)
        scale[0] = 1.0
        c = torch.complex(a[..., 0] * scale, -a[..., 1] * scale) * nx
        c = c * self._complex_phase(s).conj()
        grid = torch.fft.irfft(c, n=nx, dim=-1)
        return self.from_grid(grid)


TRANSFORMS.register("sht", SphericalHarmonics)
