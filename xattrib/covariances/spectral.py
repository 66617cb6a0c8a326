"""The ``spectral`` sampler: an isotropic kernel on the sphere drawn by spherical-harmonic
synthesis.

An isotropic field on the sphere with covariance k(γ) (γ the angle between two points) is
x = Σₗ Σₘ aₗₘ Yₗₘ with independent aₗₘ of variance Cₗ, where

    Cₗ = 2π ∫₀^π k(γ) Pₗ(cos γ) sin γ dγ,     k(γ) = Σₗ (2l + 1)/(4π) Cₗ Pₗ(cos γ).

The angular power spectrum Cₗ is computed by Gauss–Legendre quadrature in γ: the kernels are
functions of the chordal distance 2R sin(γ/2), smooth in γ even where they have a cusp in
distance (exponential), so the quadrature converges fast. A draw is one synthesis up to
degree ``lmax`` (ducc0, one thread per task) evaluated on the grid's rings, plus an
independent per-cell term carrying the variance of the degrees above ``lmax`` (the same role
as the dense path's nugget): marginal variances are exact, correlations at distances the
grid resolves are the kernel's. Nothing of size d² is ever formed; a regional grid is the
restriction of the global field to its rings (so a regional draw is exact, not a periodic
approximation).

Same seed → same numbers on one machine whatever the chunking, scheduler or thread count
(each sample is one transform of its own normals, single-threaded); on another CPU the
transforms' floating-point rounding may differ at ~1e-15 relative, which the provenance
records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..grid.cells import CellIndex
from ..grid.latlon import EARTH_RADIUS_M
from .base import SAMPLERS, SamplerInfo, matrix_guard
from .kernels import KERNELS

__all__ = ["SpectralCovariance", "angular_spectrum", "ring_geometry"]


def _legendre_table(lmax: int, t: np.ndarray) -> np.ndarray:
    """P_l(t) for l = 0..lmax, ``(lmax + 1, len(t))``, by the three-term recurrence."""
    p = np.empty((lmax + 1, t.size))
    p[0] = 1.0
    if lmax:
        p[1] = t
    for ell in range(2, lmax + 1):
        p[ell] = ((2 * ell - 1) * t * p[ell - 1] - (ell - 1) * p[ell - 2]) / ell
    return p


def angular_spectrum(kernel: str, length_scale_km: float, nu: float, variance: float,
                     lmax: int, n_nodes: int | None = None) -> np.ndarray:
    """Cₗ, l = 0..lmax, of ``variance · kernel(chord / ℓ)`` on the Earth's sphere."""
    family = KERNELS.get(kernel, what="kernel")
    scale = length_scale_km / (EARTH_RADIUS_M / 1000.0)  # ℓ in radians of chord
    if n_nodes is None:  # resolve both lmax and the kernel's own scale many times over
        n_nodes = int(2048 + 4 * lmax + 64 * np.pi / min(scale, np.pi))
    from scipy.special import roots_legendre  # O(n) nodes; numpy's leggauss is O(n³)

    x, w = roots_legendre(n_nodes)
    gamma = 0.5 * np.pi * (x + 1.0)
    wg = 0.5 * np.pi * w * np.sin(gamma)
    k = variance * family.correlation(2.0 * np.sin(gamma / 2.0) / scale, float(nu))
    return 2.0 * np.pi * _legendre_table(lmax, np.cos(gamma)) @ (k * wg)


def ring_geometry(cells: CellIndex, lmax: int | None = None
                  ) -> tuple[np.ndarray, int, float, np.ndarray, int]:
    """(colatitudes of the rows, pixels per full ring, φ₀, map index of each valid cell,
    lmax) of a grid with regular longitudes; refuses other grids."""
    lat = np.asarray(cells.mask[cells.spatial.lat].values, float)
    lon = np.asarray(cells.mask[cells.spatial.lon].values, float)
    if lat.ndim != 1 or lon.ndim != 1:
        raise ValueError("the spectral sampler needs a regular lat/lon grid (1-D latitude "
                         "and longitude); use method='dense' or a regridded field")
    steps = np.diff(np.sort(lon % 360.0))
    nphi = int(round(360.0 / float(np.median(steps)))) if lon.size > 1 else 1
    dlon = 360.0 / max(nphi, 1)
    pix = np.rint(((lon - lon[0]) % 360.0) / dlon).astype(np.int64) % max(nphi, 1)
    off = (lon[0] + pix * dlon - lon + 180.0) % 360.0 - 180.0
    if lon.size > 1 and (nphi < lon.size or not np.allclose(off, 0.0, atol=1e-6)):
        raise ValueError("the spectral sampler needs longitudes on a regular lattice whose "
                         f"spacing divides 360° (these are {dlon:g}° apart at best); use "
                         "method='dense' for this grid")
    if len(np.unique(pix)) != lon.size:
        raise ValueError("the grid repeats longitudes; the spectral sampler needs each once")
    if lmax is None:
        dlat = float(np.median(np.abs(np.diff(lat)))) if lat.size > 1 else dlon
        lmax = max(int(np.ceil(180.0 / min(dlat, dlon))) - 1, 1)
    iy, ix = np.unravel_index(cells.flat, cells.shape)
    iy_lat, ix_lon = (iy, ix) if cells.spatial.dims[0] == cells.spatial.lat else (ix, iy)
    mapidx = iy_lat * nphi + pix[ix_lon]
    theta = np.deg2rad(90.0 - lat)
    return theta, nphi, float(np.deg2rad(lon[0])), mapidx.astype(np.int64), int(lmax)


@dataclass(eq=False)
class SpectralDraws:
    """Normals → fields: ``(lmax + 1)²`` real spherical-harmonic normals, then d nugget
    normals. One synthesis per sample (rows never depend on how they are grouped)."""

    spectrum: np.ndarray       # C_l, l = 0..lmax
    nugget: float              # variance of the per-cell term
    theta: np.ndarray
    nphi: int
    phi0: float
    mapidx: np.ndarray
    _pos: np.ndarray = field(init=False, repr=False)
    _fac: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lmax = self.lmax
        # ducc0 stores a_lm for m ≥ 0 by m, then l (index m(2 lmax + 3 − m)/2 + l − m); a
        # real field has real a_l0 (variance C_l) and complex a_lm with real and imaginary
        # parts of variance C_l / 2 each
        pos, fac = [], []
        for m in range(lmax + 1):
            base = m * (2 * lmax + 3 - m) // 2 - m
            ells = np.arange(m, lmax + 1)
            idx = base + ells
            sd = np.sqrt(np.clip(self.spectrum[ells], 0.0, None) / (1.0 if m == 0 else 2.0))
            pos.append(2 * idx)
            fac.append(sd)
            if m:
                pos.append(2 * idx + 1)
                fac.append(sd)
        self._pos = np.concatenate(pos)
        self._fac = np.concatenate(fac)

    @property
    def lmax(self) -> int:
        return int(self.spectrum.size - 1)

    @property
    def n_alm(self) -> int:
        return (self.lmax + 1) * (self.lmax + 2) // 2

    @property
    def n_cells(self) -> int:
        return int(self.mapidx.size)

    @property
    def n_normals(self) -> int:
        return (self.lmax + 1) ** 2 + self.n_cells

    def apply(self, z: np.ndarray, dtype: Any = np.float64, nthreads: int = 1) -> np.ndarray:
        """Fields ``(n, d)`` from normals ``z``; one thread (the reproducible default: dask
        runs one task per core) unless ``nthreads`` says otherwise."""
        import ducc0

        n, nz = z.shape[0], self._pos.size
        alm = np.zeros((n, 1, self.n_alm), np.complex128)
        alm.view(np.float64).reshape(n, 2 * self.n_alm)[:, self._pos] = z[:, :nz] * self._fac
        ny = self.theta.size
        maps = ducc0.sht.synthesis(
            alm=alm, theta=self.theta, lmax=self.lmax, spin=0, nthreads=int(nthreads),
            nphi=np.full(ny, self.nphi, np.uintp), phi0=np.full(ny, self.phi0),
            ringstart=(np.arange(ny) * self.nphi).astype(np.uintp))
        x = maps[:, 0, self.mapidx]
        if self.nugget > 0:
            x += np.sqrt(self.nugget) * z[:, nz:]
        return x.astype(dtype, copy=False)

    def draw(self, rng: np.random.Generator, n: int, dtype: Any = np.float64) -> np.ndarray:
        z = rng.standard_normal((n, self.n_normals), dtype=np.float32)
        return self.apply(z, dtype)

    def left_product(self, a: np.ndarray, nthreads: int = 1) -> np.ndarray:
        """A L for rows ``a`` ``(K, d)`` over the valid cells, ``(K, n_normals)``: the
        adjoint synthesis of each row (ducc0), never the ``d × n_normals`` map L itself."""
        import ducc0

        a = np.atleast_2d(np.asarray(a, np.float64))
        k, ny = a.shape[0], self.theta.size
        maps = np.zeros((k, 1, ny * self.nphi))
        maps[:, 0, self.mapidx] = a
        alm = ducc0.sht.adjoint_synthesis(
            map=maps, theta=self.theta, lmax=self.lmax, spin=0, nthreads=int(nthreads),
            nphi=np.full(ny, self.nphi, np.uintp), phi0=np.full(ny, self.phi0),
            ringstart=(np.arange(ny) * self.nphi).astype(np.uintp))
        flat = alm.view(np.float64).reshape(k, 2 * self.n_alm)[:, self._pos]
        # synthesis of a real map reads a_lm (m > 0) as 2 Re(a_lm Y_lm): its real-linear
        # adjoint doubles those parts, with the sign of the imaginary part conjugated
        out = np.empty((k, self.n_normals))
        out[:, :self._pos.size] = flat * self._fac * self._adjoint_factor
        out[:, self._pos.size:] = np.sqrt(self.nugget) * a
        return out

    @property
    def _adjoint_factor(self) -> np.ndarray:
        lmax = self.lmax
        f = []
        for m in range(lmax + 1):
            n = lmax + 1 - m
            f.append(np.ones(n) if m == 0 else np.full(n, 2.0))
            if m:
                f.append(np.full(n, 2.0))
        return np.concatenate(f)

    def matrix(self) -> np.ndarray:
        """The linear map from normals to fields, ``(d, n_normals)`` (small grids only)."""
        matrix_guard(self.n_cells, "spectral")
        eye = np.eye(self.n_normals)
        return np.concatenate([self.apply(eye[s:s + 512]) for s in
                               range(0, self.n_normals, 512)]).T

    def token(self) -> tuple:
        return ("spectral", self.spectrum.tobytes(), self.nugget, self.theta.tobytes(),
                self.nphi, self.phi0, self.mapidx.tobytes())


@dataclass(eq=False)
class SpectralCovariance:
    """An isotropic kernel on the sphere as its angular power spectrum
    (``method="spectral"``); see the module docstring."""

    spectrum: np.ndarray
    variance: float
    cells: CellIndex
    attrs: dict[str, Any] = field(default_factory=dict)
    lmax: int | None = None
    method: ClassVar[str] = "spectral"
    #: one field: several variables are drawn jointly by the dense and lowrank samplers
    variables: ClassVar[tuple[str, ...]] = ()
    _geometry: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._geometry = ring_geometry(self.cells, self.lmax)
        self.lmax = self._geometry[4]
        self.spectrum = np.asarray(self.spectrum, np.float64)[: self.lmax + 1]
        if self.spectrum.size != self.lmax + 1:
            raise ValueError(f"the spectrum has {self.spectrum.size} degrees, the grid needs "
                             f"{self.lmax + 1}")
        captured = float(self.captured_variance)
        self.attrs = {**self.attrs, "covariance_sampler": "spectral",
                      "covariance_lmax": int(self.lmax),
                      "covariance_resolved_fraction": captured / self.variance,
                      "covariance_reproducible": "on one machine (spherical-harmonic "
                                                 "synthesis rounds with the CPU's SIMD)"}

    @property
    def n_inputs(self) -> int:
        return self.cells.n_cells

    @property
    def captured_variance(self) -> float:
        ell = np.arange(self.spectrum.size)
        return float(((2 * ell + 1) / (4 * np.pi) * self.spectrum).sum())

    @property
    def nugget(self) -> float:
        return max(self.variance - self.captured_variance, 0.0)

    @property
    def std(self) -> np.ndarray:
        v = self.captured_variance + self.nugget
        return np.full(self.cells.n_cells, np.sqrt(v))

    def correlation_at(self, gamma: np.ndarray) -> np.ndarray:
        """The drawn fields' correlation at great-circle angles ``gamma`` (radians) > 0."""
        ell = np.arange(self.spectrum.size)
        coef = (2 * ell + 1) / (4 * np.pi) * self.spectrum
        v = self.captured_variance + self.nugget
        return np.polynomial.legendre.legval(np.cos(np.asarray(gamma, float)), coef) / v

    @property
    def matrix(self) -> np.ndarray:
        """Σ the draws have, d × d (small grids only): the truncated kernel plus the nugget."""
        d = self.cells.n_cells
        matrix_guard(d, "spectral")
        cc = self.cells.cell_coords()
        lat = np.deg2rad(np.asarray(cc[self.cells.spatial.lat][1], float))
        lon = np.deg2rad(np.asarray(cc[self.cells.spatial.lon][1], float))
        cosg = (np.sin(lat)[:, None] * np.sin(lat)[None] + np.cos(lat)[:, None]
                * np.cos(lat)[None] * np.cos(lon[:, None] - lon[None]))
        ell = np.arange(self.spectrum.size)
        m = np.polynomial.legendre.legval(np.clip(cosg, -1, 1),
                                          (2 * ell + 1) / (4 * np.pi) * self.spectrum)
        m[np.diag_indices(d)] += self.nugget
        return m

    @property
    def correlation(self) -> np.ndarray:
        return self.matrix / (self.captured_variance + self.nugget)

    def matmat(self, v: np.ndarray) -> np.ndarray:
        """Σ v for ``v`` ``(d, m)``: L (Lᵀ v) by adjoint synthesis and synthesis."""
        dr = self.draws()
        return dr.apply(dr.left_product(np.asarray(v, float).T)).T

    def quadratic(self, a: np.ndarray) -> np.ndarray:
        """diag(A Σ Aᵀ) for rows ``a`` ``(K, d)``: each row's variance."""
        return (self.draws().left_product(a) ** 2).sum(1)

    def _draws(self, spectrum: np.ndarray, nugget: float) -> SpectralDraws:
        theta, nphi, phi0, mapidx, _ = self._geometry
        return SpectralDraws(spectrum, nugget, theta, nphi, phi0, mapidx)

    def draws(self) -> SpectralDraws:
        return self._draws(self.spectrum, self.nugget)

    def correlation_draws(self) -> SpectralDraws:
        v = self.captured_variance + self.nugget
        return self._draws(self.spectrum / v, self.nugget / v)


#: the default ``lmax`` is the grid's Nyquist degree, raised (up to 4×) until the synthesis
#: carries this fraction of the variance (the rest goes to the per-cell term)
RESOLVED = 0.999


def spectral(cells: CellIndex, kernel: str, length_scale_km: float, nu: float,
             variance: float, lmax: int | None, attrs: dict[str, Any]) -> SpectralCovariance:
    """The kernel's spectrum up to ``lmax`` (default: see :data:`RESOLVED`)."""
    geo = ring_geometry(cells, lmax)
    if lmax is None:
        nyq = geo[4]
        spec = angular_spectrum(kernel, length_scale_km, nu, variance, 4 * nyq + 3)
        ell = np.arange(spec.size)
        cum = np.cumsum((2 * ell + 1) / (4 * np.pi) * spec)
        enough = np.flatnonzero(cum >= RESOLVED * variance)
        lmax = max(nyq, int(enough[0]) if enough.size else spec.size - 1)
        spec = spec[: lmax + 1]
    else:
        if int(lmax) < 1:
            raise ValueError(f"lmax must be at least 1, got {lmax}")
        spec = angular_spectrum(kernel, length_scale_km, nu, variance, int(lmax))
    return SpectralCovariance(spec, float(variance), cells, attrs, lmax=int(lmax))


SAMPLERS.register("spectral", SamplerInfo(
    "isotropic kernel by its angular power spectrum, spherical-harmonic synthesis (ducc0)",
    "kernel on a grid with regular longitudes", "on one machine (FFT rounding may differ "
    "across CPUs by ~1e-15)"))
