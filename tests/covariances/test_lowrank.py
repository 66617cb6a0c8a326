"""The low-rank sampler: the same Σ as the dense path, its shrinkages against scikit-learn's,
its draws reproducing Σ, and the same numbers however the work is split."""

import dask
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import OAS, LedoitWolf

import xattrib
from xattrib import covariances as cv
from xattrib.covariances.lowrank import ledoit_wolf_shrinkage, oas_shrinkage
from xattrib.generation.schema import generator_from_dataset


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 40), d=st.integers(2, 60), seed=st.integers(0, 2**31 - 1))
def test_shrinkages_equal_scikit_learn(n, d, seed):
    """Closed forms from the n × n Gram matrix = scikit-learn's on the d × d matrix."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    np.testing.assert_allclose(ledoit_wolf_shrinkage(z),
                               LedoitWolf(assume_centered=True).fit(z).shrinkage_, rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(oas_shrinkage(z), OAS(assume_centered=True).fit(z).shrinkage_,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shrinkage", ["ledoit_wolf", "oas", 0.3])
@pytest.mark.parametrize("kind", ["correlation", "covariance"])
def test_the_same_sigma_as_the_dense_path(sst, shrinkage, kind):
    dense = cv.from_data(sst, method="dense", shrinkage=shrinkage, kind=kind)
    low = cv.from_data(sst, method="lowrank", shrinkage=shrinkage, kind=kind)
    assert isinstance(low, cv.LowRankCovariance) and low.u.shape == (450, 50)
    np.testing.assert_allclose(low.matrix, dense.matrix, atol=1e-12 * dense.matrix.max())
    np.testing.assert_allclose(low.std, dense.std, rtol=1e-12)
    assert low.attrs["covariance_shrinkage"] == pytest.approx(
        dense.attrs["covariance_shrinkage"], rel=1e-10)
    assert low.attrs["covariance_sampler"] == "lowrank"
    assert dense.attrs["covariance_sampler"] == "dense"


def test_draws_reproduce_sigma_and_match_the_dense_distribution(sst):
    low = cv.from_data(sst, method="lowrank")
    dense = cv.from_data(sst, method="dense")
    n = 40_000
    a = low.draws().draw(np.random.default_rng(1), n)
    b = dense.draws().draw(np.random.default_rng(2), n)
    target = low.matrix
    # sampling error of a covariance entry: sqrt((Σ_ij² + Σ_ii Σ_jj) / n) ≤ sqrt(2 / n)
    tol = 6 * np.sqrt(2.0 / n)
    assert np.abs(np.cov(a, rowvar=False) - target).max() < tol
    assert np.abs(np.cov(a, rowvar=False) - np.cov(b, rowvar=False)).max() < 1.5 * tol
    # and the correlation draws the response parameters take have unit variances
    c = low.correlation_draws().draw(np.random.default_rng(3), n)
    np.testing.assert_allclose(c.var(0), 1.0, atol=6 * np.sqrt(2.0 / n))


def test_auto_picks_lowrank_above_the_threshold(sst, monkeypatch):
    monkeypatch.setattr("xattrib.covariances.base.DENSE_MAX_CELLS", 100)
    assert isinstance(cv.from_data(sst), cv.LowRankCovariance)
    b = xattrib.benchmark(sst, n_samples=10, chunks=10)
    assert b.attrs["xattrib_covariance_sampler"] == "lowrank"
    assert "covariance" not in b and b["covariance_factor"].shape == (450, 50)


@pytest.fixture(scope="module")
def low_bench(sst):
    return xattrib.benchmark(sst, n_samples=1500, chunks=1500, seed=3,
                             covariance={"method": "lowrank"})


@pytest.mark.parametrize("chunks", [1, 217, 1000])
@pytest.mark.parametrize("scheduler", ["threads", "synchronous", "processes"])
def test_chunk_and_scheduler_invariance(sst, low_bench, chunks, scheduler):
    ref = low_bench[["x", "y", "truth"]].compute(scheduler="synchronous")
    b = xattrib.benchmark(sst, n_samples=1500, chunks=chunks if chunks > 1 else 150, seed=3,
                          covariance={"method": "lowrank"})
    got = b[["x", "y", "truth"]].compute(scheduler=scheduler)
    for v in ("x", "y", "truth"):
        np.testing.assert_array_equal(got[v].values, ref[v].values, err_msg=v)


def test_written_and_read_back_draws_the_same(low_bench, tmp_path):
    path = tmp_path / "b.nc"
    xattrib.io.to_netcdf(low_bench.isel(sample=slice(0, 40)), path)
    back = xattrib.io.open_dataset(path)
    assert "covariance_factor" in back and "covariance" not in back
    gen = generator_from_dataset(back)
    x = gen.draw_x(0, 40)
    ref = xattrib.CellIndex.from_mask(low_bench["mask"]).stack(
        low_bench["x"].isel(sample=slice(0, 40))).values
    np.testing.assert_array_equal(x, ref)


def test_truth_sums_to_y(low_bench):
    b = low_bench.isel(sample=slice(0, 300)).compute()
    err = b["truth"].sum(["lat", "lon"]) - b["y"]
    assert float(abs(err).max()) < 1e-5


def test_lowrank_refuses_no_shrinkage(sst):
    with pytest.raises(ValueError, match="singular"):
        cv.from_data(sst, method="lowrank", shrinkage=None)


def test_lowrank_does_not_apply_to_a_kernel(small_grid):
    with pytest.raises(ValueError, match="does not apply"):
        cv.parametric(small_grid, method="lowrank")


def test_one_sample_source_is_refused(sst):
    with pytest.raises(ValueError, match="at least 3 samples along 'time'"):
        xattrib.benchmark(sst.isel(time=[0]), n_samples=10)
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match="shrinkage must be"):
            cv.from_data(xr.DataArray(sst), shrinkage="lw")


def test_products_with_sigma_never_need_the_matrix(sst):
    low = cv.from_data(sst, method="lowrank")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, low.cells.n_cells))
    dr = low.draws()
    np.testing.assert_allclose(dr.left_product(a), a @ dr.matrix(), rtol=1e-12, atol=1e-12)
    v = rng.normal(size=(low.cells.n_cells, 2))
    np.testing.assert_allclose(low.matmat(v), low.matrix @ v, atol=1e-10)
    np.testing.assert_allclose(low.quadratic(a), np.einsum("kd,kd->k", a @ low.matrix, a),
                               rtol=1e-10)
