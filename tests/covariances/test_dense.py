"""Joint covariances of several variables: from data (with every cross-covariance) and
parametric (a kernel per variable, coupled by a cross-correlation)."""

import numpy as np
import pytest
import xarray as xr
from sklearn.covariance import LedoitWolf

import xattrib
from xattrib.covariances import from_data, parametric
from xattrib.datasets import lagged
from xattrib.grid import make_grid


@pytest.fixture(scope="module")
def two(sst):
    """This winter's and last winter's SST, as a Dataset of two variables."""
    return lagged(sst, lags=[0, 1])


def _standardised_columns(ds, names):
    cells = xattrib.CellIndex.from_data(ds[names[0]])
    cols = np.concatenate([cells.stack(ds[v].transpose("time", "lat", "lon")).values
                           for v in names], axis=1)
    return (cols - cols.mean(0)) / cols.std(0, ddof=1)


def test_joint_correlation_is_the_shrunk_correlation_of_the_stacked_variables(two):
    cov = from_data(two)
    z = _standardised_columns(two, ["sst_lag0", "sst_lag1"])
    ref = LedoitWolf(assume_centered=True).fit(z).covariance_
    s = np.sqrt(np.diag(ref))
    np.testing.assert_allclose(cov.matrix, ref / np.outer(s, s), atol=1e-10)
    assert cov.variables == ("sst_lag0", "sst_lag1")
    d = cov.cells.n_cells
    # the cross block is there: this winter and last winter at one cell are correlated
    assert abs(np.diag(cov.matrix[:d, d:])).mean() > 0.1


def test_lowrank_and_dense_hold_the_same_joint_covariance(two):
    dense, low = from_data(two, method="dense"), from_data(two, method="lowrank")
    assert low.variables == dense.variables
    np.testing.assert_allclose(low.matrix, dense.matrix, atol=1e-10)


@pytest.mark.parametrize("method", ["dense", "lowrank"])
def test_joint_draws_reproduce_the_covariance_with_its_cross_block(two, method):
    cov = from_data(two, method=method)
    x = cov.draws().draw(np.random.default_rng(0), 40_000)
    emp = np.cov(x, rowvar=False)
    d = cov.cells.n_cells
    # sampling error of a covariance of unit variances: ~ sqrt(2 / n) ≈ 0.007
    assert np.abs(emp - cov.matrix).max() < 0.04
    assert np.abs(emp[:d, d:] - cov.matrix[:d, d:]).mean() < 0.006


def test_a_variable_valid_on_more_cells_is_cut_to_the_common_cells(sst):
    slp = sst.fillna(0.1) * 2 + sst.lon * 0.001  # valid everywhere, correlated with sst
    ds = xr.Dataset({"sst": sst, "slp": slp.rename("slp")})
    cov = from_data(ds)
    assert cov.cells.n_cells == 450
    assert cov.attrs["covariance_dropped_cells"] == 540 - 450


def test_errors_name_the_variable(sst):
    coarse = sst.coarsen(lat=2, lon=2, boundary="trim").mean().rename(
        "slp", lat="lat_c", lon="lon_c")
    coarse["lat_c"].attrs = {"standard_name": "latitude", "units": "degrees_north"}
    coarse["lon_c"].attrs = {"standard_name": "longitude", "units": "degrees_east"}
    with pytest.raises(ValueError, match="'slp' is not on the expected grid"):
        from_data(xr.Dataset({"sst": sst, "slp": coarse.fillna(0.0)}))
    holes = sst.copy()
    holes[3, 5, 10] = np.nan  # a NaN in one sample of one variable
    with pytest.raises(ValueError, match="NaN"):
        from_data(xr.Dataset({"sst": sst, "slp": holes.rename("slp")}))
    with pytest.raises(ValueError, match="no variable 'sp'"):
        from_data(xr.Dataset({"sst": sst}), variables=["sp"])
    with pytest.raises(ValueError, match="no cell is valid in every one"):
        from_data(xr.Dataset({"sst": sst, "slp": sst.where(sst.isnull(), drop=False)
                              .fillna(1.0).where(sst.isnull()).rename("slp")
                              + xr.DataArray(np.arange(sst.sizes["time"]), dims="time")}))


def test_parametric_joint_is_the_kernel_blocks_times_the_cross_correlation():
    g = make_grid(30.0, mask="ocean")
    r = np.array([[1.0, 0.6], [0.6, 1.0]])
    one = parametric(g)
    same = parametric(g, variables=["a", "b"], cross_correlation=r)
    d = one.cells.n_cells
    k = one.matrix
    np.testing.assert_allclose(same.matrix, np.kron(r, k), atol=1e-10)  # separable R ⊗ K
    own = parametric(g, variables=["a", "b"], length_scale_km=[2000, 5000],
                     cross_correlation=r)
    np.testing.assert_allclose(own.matrix[:d, :d], k, atol=1e-12)  # each keeps its kernel
    np.testing.assert_allclose(own.matrix[d:, d:], parametric(g, length_scale_km=5000).matrix,
                               atol=1e-12)
    np.testing.assert_allclose(np.diag(own.matrix[:d, d:]), 0.6 * np.diag(
        np.linalg.cholesky(k) @ np.linalg.cholesky(own.matrix[d:, d:]).T), atol=1e-12)
    assert np.linalg.eigvalsh(own.matrix)[0] > 0


@pytest.mark.parametrize("bad, match", [
    ({"cross_correlation": [[1, 2], [2, 1]]}, "correlation matrix"),
    ({"cross_correlation": np.eye(3)}, "must be 2 × 2"),
    ({"length_scale_km": [1000, 2000, 3000]}, "3 values for 2 variables"),
    ({"method": "spectral"}, "dense sampler"),
])
def test_parametric_joint_refuses_bad_parameters(bad, match):
    with pytest.raises(ValueError, match=match):
        parametric(make_grid(30.0, mask="ocean"), variables=["a", "b"], **bad)
    with pytest.raises(ValueError, match="pass variables"):
        parametric(make_grid(30.0, mask="ocean"), cross_correlation=np.eye(2))
