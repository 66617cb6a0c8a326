"""The spectral sampler: its spectrum is the kernel's, its draws have the kernel's
correlation at the distances the grid resolves, on global and regional grids, and the same
numbers come out however the work is split."""

import numpy as np
import pytest
import xarray as xr

import xattrib
from xattrib import covariances as cv
from xattrib.covariances.kernels import KERNELS
from xattrib.covariances.spectral import angular_spectrum, spectral
from xattrib.generation.schema import generator_from_dataset
from xattrib.grid import EARTH_RADIUS_M, CellIndex, make_grid

R_KM = EARTH_RADIUS_M / 1000.0


@pytest.mark.parametrize(("kernel", "ell", "nu"), [("matern", 2000.0, 1.5),
                                                   ("exponential", 1500.0, 0.5),
                                                   ("gaussian", 3000.0, 0.5),
                                                   ("matern", 800.0, 2.5)])
def test_spectrum_sums_back_to_the_kernel(kernel, ell, nu):
    """k(γ) = Σ (2l + 1)/(4π) C_l P_l(cos γ) at several distances (exact to quadrature)."""
    spec = angular_spectrum(kernel, ell, nu, 2.0, lmax=700)
    gamma = np.array([0.0, 0.05, 0.1, 0.3, 0.7, 1.5, 3.0])
    ells = np.arange(spec.size)
    got = np.polynomial.legendre.legval(np.cos(gamma), (2 * ells + 1) / (4 * np.pi) * spec)
    want = 2.0 * KERNELS.get(kernel).correlation(2 * R_KM * np.sin(gamma / 2) / ell, nu)
    # beyond l = 700 lies ~1e-6 of a smooth kernel's variance; the exponential's cusp
    # leaves 0.6 % there (the nugget's share at γ = 0), converging away from it
    if kernel == "exponential":
        got, want = got[1:], want[1:]
    np.testing.assert_allclose(got, want, atol=2e-5)
    assert np.all(spec > -1e-12)  # positive definite on the sphere (chordal distance)


def test_correlation_of_draws_against_the_kernel_at_several_distances():
    """Empirical correlation of many draws at pairs of cells vs the kernel itself."""
    g = make_grid(5.0, mask=None)
    cells = CellIndex.from_mask(g["mask"])
    cov = spectral(cells, "matern", 1500.0, 1.5, 1.0, None, {})
    assert cov.attrs["covariance_resolved_fraction"] >= 0.999
    n = 20_000
    x = cov.draws().draw(np.random.default_rng(0), n)
    np.testing.assert_allclose(x.var(0).mean(), 1.0, atol=0.01)
    lat, lon = (np.asarray(cells.cell_coords()[c][1], float) for c in ("lat", "lon"))
    rng = np.random.default_rng(1)
    i, j = rng.integers(0, cells.n_cells, (2, 4000))
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    cosg = np.sin(la[i]) * np.sin(la[j]) + np.cos(la[i]) * np.cos(la[j]) * np.cos(lo[i] - lo[j])
    gamma = np.arccos(np.clip(cosg, -1, 1))
    emp = (x[:, i] * x[:, j]).mean(0)
    want = KERNELS.get("matern").correlation(2 * R_KM * np.sin(gamma / 2) / 1500.0, 1.5)
    off = gamma > 0
    # per pair sampling error ≈ (1 + ρ²)^½ / √n; with the truncation's 1e-3
    assert np.abs(emp - want)[off].max() < 5 * np.sqrt(2.0 / n) + 2e-3
    # and the Σ it reports is what it draws
    np.testing.assert_allclose(cov.correlation_at(gamma[off]), want[off], atol=2e-3)


def test_regional_grid_is_the_restriction_of_the_global_field(small_grid):
    spec = cv.parametric(small_grid, method="spectral", length_scale_km=3000.0)
    dense = cv.parametric(small_grid, method="dense", length_scale_km=3000.0)
    assert isinstance(spec, cv.SpectralCovariance)
    assert np.abs(spec.matrix - dense.matrix).max() < 2e-3
    x = spec.draws().draw(np.random.default_rng(0), 30_000)
    assert np.abs(np.cov(x, rowvar=False) - dense.matrix).max() < 6 * np.sqrt(2 / 30_000) + 2e-3


def test_descending_latitude_and_0_360_longitude_give_the_same_field():
    g = make_grid(10.0, mask=None)
    flipped = g.isel(lat=slice(None, None, -1)).assign_coords(lon=g.lon % 360).sortby("lon")
    a = cv.parametric(g, method="spectral")
    b = cv.parametric(flipped, method="spectral")
    # the same field: the spherical-harmonic normals are the same, the cells reordered
    za = np.random.default_rng(4).standard_normal((3, a.draws().n_normals)).astype(np.float32)
    nz = (a.lmax + 1) ** 2
    za[:, nz:] = 0  # the per-cell term follows the cell order; the synthesis does not
    xa = CellIndex.from_mask(g["mask"]).unstack(xr.DataArray(a.draws().apply(za),
                                                             dims=("s", "cell")))
    xb = CellIndex.from_mask(flipped["mask"]).unstack(xr.DataArray(b.draws().apply(za),
                                                                   dims=("s", "cell")))
    xa = xa.assign_coords(lon=xa.lon % 360).sortby("lon").sortby("lat")
    np.testing.assert_allclose(xa.values, xb.sortby("lat").values, atol=1e-12)


@pytest.fixture(scope="module")
def spec_bench():
    g = make_grid(10.0, mask="ocean")
    return g, xattrib.benchmark(g, n_samples=1200, chunks=1200, seed=5,
                                covariance={"method": "spectral"})


@pytest.mark.parametrize("chunks", [97, 500])
@pytest.mark.parametrize("scheduler", ["threads", "synchronous", "processes"])
def test_chunk_and_scheduler_invariance(spec_bench, chunks, scheduler):
    g, ref = spec_bench
    ref = ref[["x", "y", "truth"]].compute(scheduler="synchronous")
    b = xattrib.benchmark(g, n_samples=1200, chunks=chunks, seed=5,
                          covariance={"method": "spectral"})
    got = b[["x", "y", "truth"]].compute(scheduler=scheduler)
    for v in ("x", "y", "truth"):
        np.testing.assert_array_equal(got[v].values, ref[v].values, err_msg=v)


def test_spectrum_is_stored_and_draws_again(spec_bench, tmp_path):
    _, b = spec_bench
    assert b.attrs["xattrib_covariance_sampler"] == "spectral" and "covariance_spectrum" in b
    path = tmp_path / "b.zarr"
    xattrib.io.to_zarr(b.isel(sample=slice(0, 30)), path)
    gen = generator_from_dataset(xattrib.io.open_dataset(path))
    ref = CellIndex.from_mask(b["mask"]).stack(b["x"].isel(sample=slice(0, 30))).values
    np.testing.assert_array_equal(gen.draw_x(0, 30), ref)
    err = b["truth"].isel(sample=slice(0, 200)).sum(["lat", "lon"]) - b["y"][:200]
    assert float(abs(err).max()) < 1e-5


def test_irregular_longitudes_are_refused():
    g = make_grid(10.0, mask=None)
    odd = g.isel(lon=[0, 1, 2, 5, 9])
    with pytest.raises(ValueError, match="regular lattice"):
        cv.parametric(odd, method="spectral")


def test_forced_dense_that_cannot_fit_is_refused(monkeypatch):
    monkeypatch.setattr("xattrib.covariances.base._memory_bytes", lambda: 2**30)
    g = make_grid(2.5, mask="ocean")
    with pytest.raises(MemoryError, match="method='spectral'"):
        cv.parametric(g, method="dense")


def test_products_with_sigma_never_need_the_matrix():
    """left_product (adjoint synthesis), matmat and quadratic equal their dense forms."""
    cov = cv.parametric(make_grid(15.0, mask="ocean"), method="spectral")
    dr = cov.draws()
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, cov.cells.n_cells))
    ref = a @ dr.matrix()
    np.testing.assert_allclose(dr.left_product(a), ref, atol=1e-12 * np.abs(ref).max())
    v = rng.normal(size=(cov.cells.n_cells, 2))
    np.testing.assert_allclose(cov.matmat(v), cov.matrix @ v, atol=1e-11)
    np.testing.assert_allclose(cov.quadratic(a), np.einsum("kd,kd->k", a @ cov.matrix, a),
                               rtol=1e-10)
