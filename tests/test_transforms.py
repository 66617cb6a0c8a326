"""Transforms: exact round trips, orthonormal bases, the right groups, clear grid errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import xattrib
from xattrib.attribution.transformed import TrimNetwork
from xattrib.grid.cells import CellIndex
from xattrib.transforms import (
    EOF,
    Fourier,
    SphericalHarmonics,
    Wavelet,
    Zonal,
    check_transform,
    feature_grouping,
    make_transform,
)


@pytest.fixture(scope="module")
def global_cells():
    """A 15° global grid with land masked."""
    g = xattrib.grid.make_grid(resolution=15.0, mask="ocean")
    return CellIndex.from_mask(g["mask"])


@pytest.fixture(scope="module")
def full_global():
    g = xattrib.grid.make_grid(resolution=20.0, mask=None)
    return CellIndex.from_mask(g["mask"])


class BlockMeans:
    """A user's own lossy transform: means of 3 × 3 blocks of valid cells (not a Module)."""

    def __init__(self, cells: CellIndex) -> None:
        ny, nx = cells.shape
        iy, ix = np.divmod(cells.flat, nx)
        ids = np.unique((iy // 3) * 100 + ix // 3, return_inverse=True)[1]
        self.ids = torch.as_tensor(ids)
        self.k = int(ids.max()) + 1
        self.counts = torch.bincount(self.ids).float()
        self.features = xr.DataArray(np.arange(self.k), dims=("block",), name="block")
        self.groups = xr.DataArray(np.arange(self.k) % 2, dims=("block",), name="parity")

    def forward(self, x):
        return torch.zeros(x.shape[0], self.k, dtype=x.dtype).index_add_(
            1, self.ids, x) / self.counts.to(x.dtype)

    def inverse(self, s):
        return s.index_select(1, self.ids)


def _all(sst, sst_cells, global_cells):
    return [Fourier(sst_cells), Wavelet(sst_cells, "db2", level=2),
            EOF.fit(sst, n_modes=6), Zonal(global_cells), SphericalHarmonics(global_cells, 6),
            BlockMeans(sst_cells)]


def test_trim_network_is_exact_for_every_transform(sst, sst_cells, global_cells):
    """f'(T(x)) = f(x) with the fixed residual: truncated EOF, a low-degree SHT, land, and a
    user's lossy transform included."""
    torch.manual_seed(0)
    for t in _all(sst, sst_cells, global_cells):
        d = t.cells.n_cells if hasattr(t, "cells") else sst_cells.n_cells
        check_transform(t, d)
        net = nn.Sequential(nn.Linear(d, 32), nn.Tanh(), nn.Linear(32, 1))
        x = torch.randn(7, d)
        with torch.no_grad():
            s = t.forward(x)
            r = x - t.inverse(s)
            got = TrimNetwork(net, t)(s, r)
        np.testing.assert_allclose(got, net(x).detach(), atol=1e-5, err_msg=type(t).__name__)
        lossy = isinstance(t, EOF | BlockMeans | SphericalHarmonics)
        assert (float(r.abs().max()) > 1e-2) == lossy, type(t).__name__


@pytest.mark.parametrize("cls", [Fourier, Zonal])
def test_fourier_bases_are_orthonormal(cls, full_global):
    t = cls(full_global)
    eye = torch.eye(full_global.n_cells, dtype=torch.float64)
    m = t(eye)  # rows: features of each unit field
    np.testing.assert_allclose(m @ m.T, eye, atol=1e-6)
    # the inverse of unit features are the basis functions: T⁻¹ = Tᵀ
    np.testing.assert_allclose(t.inverse(eye), m.T, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(ny=st.integers(2, 9), nx=st.integers(2, 11), seed=st.integers(0, 99))
def test_fourier_round_trip_any_shape_and_mask(ny, nx, seed):
    rng = np.random.default_rng(seed)
    lat = np.linspace(-10, 10, ny) if ny > 1 else np.array([0.0])
    mask = rng.random((ny, nx)) < 0.7
    mask.flat[rng.integers(mask.size)] = True
    m = xr.DataArray(mask, dims=("lat", "lon"),
                     coords={"lat": lat, "lon": np.arange(nx) * 2.0 + 100})
    cells = CellIndex.from_mask(m)
    t = Fourier(cells)
    x = torch.randn(3, cells.n_cells, dtype=torch.float64)
    np.testing.assert_allclose(t.inverse(t(x)), x, atol=1e-6)
    assert t.n_features == ny * nx


def test_fourier_plane_wave_lands_in_its_band():
    m = xr.DataArray(np.ones((16, 16), bool), dims=("lat", "lon"),
                     coords={"lat": np.arange(16) * 1.0, "lon": np.arange(16) * 1.0})
    cells = CellIndex.from_mask(m)
    t = Fourier(cells, spacing_km=(100.0, 100.0))
    iy, ix = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    wave = np.cos(2 * np.pi * (3 * iy + 4 * ix) / 16)  # |k| = 5 cycles per domain
    s = t(torch.as_tensor(wave.ravel()[None]))[0].numpy()
    idx, labels, coords = feature_grouping(t)
    power = np.bincount(idx, s**2)
    assert labels.values[power.argmax()] == 5
    assert power.max() / power.sum() > 0.999
    assert float(coords["wavelength"].sel(wavenumber=5)) == pytest.approx(1600 / 5)


def test_zonal_wavenumber_of_a_wave(full_global):
    t = Zonal(full_global)
    lon = np.deg2rad(full_global.mask["lon"].values)
    field = np.broadcast_to(np.sin(3 * lon), full_global.shape).ravel()
    s = t(torch.as_tensor(field[None].copy()))[0].numpy()
    idx, labels, _ = feature_grouping(t)
    power = np.bincount(idx, s**2)
    assert labels.values[power.argmax()] == 3 and power.max() / power.sum() > 0.999


def test_sht_degrees_and_mean(full_global):
    t = SphericalHarmonics(full_global)
    lat = np.deg2rad(full_global.mask["lat"].values)
    lon = np.deg2rad(full_global.mask["lon"].values)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    # sin φ ∝ Y₁₀ and cos²φ·cos 2λ ∝ Y₂₂: each lands in its own degree only
    idx, labels, coords = feature_grouping(t)
    for field, degree in ((np.sin(la), 1), (np.cos(la) ** 2 * np.cos(2 * lo), 2)):
        s = t(torch.as_tensor(field.ravel()[None]))[0].double().numpy()
        power = np.bincount(idx, s**2)
        assert labels.values[power.argmax()] == degree
        assert power.max() / power.sum() > 0.9999
    # a constant field is all ℓ = 0, with the constant as coefficient (4π normalisation)
    s = t(torch.full((1, full_global.n_cells), 2.5, dtype=torch.float64))[0]
    assert float(s[0]) == pytest.approx(2.5, abs=1e-6)
    assert float(s[1:].abs().max()) < 1e-6
    # band-limited coefficients come back exactly; wavelengths fall with degree
    c = torch.randn(2, t.n_features, dtype=torch.float64)
    np.testing.assert_allclose(t(t.inverse(c)), c, atol=1e-5)
    assert np.all(np.diff(coords["wavelength"].values[1:]) < 0)


def test_eof_matches_an_independent_svd(sst, sst_cells):
    t = EOF.fit(sst, n_modes=4)
    x = np.asarray(sst_cells.stack(sst).values, float)
    w = np.sqrt(np.cos(np.deg2rad(sst_cells.cell_coords()[sst_cells.spatial.lat][1])))
    w = w / np.sqrt(np.mean(w**2))
    xc = (x - x.mean(0)) * w
    _, sv, vt = np.linalg.svd(xc, full_matrices=False)
    v = t.v.double().numpy()
    for k in range(4):
        assert abs(abs(float(v[k] @ vt[k])) - 1) < 1e-4
    np.testing.assert_allclose(t.features["explained_variance_ratio"],
                               (sv**2 / (sv**2).sum())[:4], rtol=1e-4)
    pat = t.patterns()
    assert pat.dims == ("mode", "lat", "lon") and pat.isnull().any()  # land


def test_eof_from_covariance_equals_pca_of_many_samples(sst_cells):
    rng = np.random.default_rng(1)
    d = sst_cells.n_cells
    a = rng.standard_normal((d, 5)) * [5, 4, 3, 2, 1]
    cov = a @ a.T + 0.01 * np.eye(d)
    t = EOF.from_covariance(cov, sst_cells, n_modes=3)
    x = rng.multivariate_normal(np.zeros(d), cov, size=20_000)
    da = sst_cells.unstack(xr.DataArray(x, dims=("sample", "cell"))).rename("x")
    fitted = EOF.fit(da, n_modes=3, cells=sst_cells)
    overlap = np.abs(t.v.double().numpy() @ fitted.v.double().numpy().T)
    np.testing.assert_allclose(np.diag(overlap), 1, atol=0.02)


def test_wavelet_groups_and_odd_grid():
    m = xr.DataArray(np.ones((13, 19), bool), dims=("lat", "lon"),
                     coords={"lat": np.arange(13.0), "lon": np.arange(19.0)})
    cells = CellIndex.from_mask(m)
    t = Wavelet(cells, "haar", level=2, orientation=True)
    x = torch.randn(2, cells.n_cells, dtype=torch.float64)
    np.testing.assert_allclose(t.inverse(t(x)), x, atol=1e-10)
    _, labels, coords = feature_grouping(t)
    assert list(labels.values) == ["a2", "h2", "v2", "d2", "h1", "v1", "d1"]
    assert list(coords["level"].values) == [2, 2, 2, 2, 1, 1, 1]


def test_grids_that_do_not_fit_get_clear_errors(sst_cells):
    for cls in (Zonal, SphericalHarmonics):
        with pytest.raises(ValueError, match=r"18 × 30 cells.*Transforms that fit this grid: "
                                             r"fourier, eof, wavelet"):
            cls(sst_cells)
    with pytest.raises(ValueError, match=r"level 5 does not fit.*at most level 2.*18 cells"):
        Wavelet(sst_cells, "db2", level=5)
    with pytest.raises(ValueError, match="unknown transform 'fft'"):
        make_transform("fft", sst_cells)
    with pytest.raises(ValueError, match="pass data="):
        make_transform("eof", sst_cells)
    with pytest.raises(ValueError, match="lmax must be between 0 and nlat - 1"):
        g = xattrib.grid.make_grid(resolution=30.0, mask=None)
        SphericalHarmonics(CellIndex.from_mask(g["mask"]), lmax=6)


def test_protocol_errors(sst_cells):
    class NoInverse:
        features = xr.DataArray(np.arange(3), dims=("f",))

        def forward(self, x):
            return x[:, :3]
    with pytest.raises(TypeError, match="has no inverse"):
        check_transform(NoInverse(), sst_cells.n_cells)

    class WrongSize(BlockMeans):
        def forward(self, x):
            return super().forward(x)[:, :-1]
    with pytest.raises(ValueError, match="features says"):
        check_transform(WrongSize(sst_cells), sst_cells.n_cells)
    with pytest.raises(ValueError, match="built on a grid of"):
        check_transform(Fourier(sst_cells), sst_cells.n_cells + 1)
    t = BlockMeans(sst_cells)
    with pytest.raises(ValueError, match="label each of the"):
        feature_grouping(t, xr.DataArray(np.zeros(3), dims=("block",), name="g"))
