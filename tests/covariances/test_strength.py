import numpy as np
import pytest
import xarray as xr

import xattrib
from xattrib import covariances as cv


@pytest.fixture(scope="module")
def cells(small_grid):
    return xattrib.CellIndex.from_mask(small_grid["mask"])


@pytest.mark.parametrize("w", [0.0, 0.3, 0.9, 1.0])
def test_dense_correlation_moves_towards_one_and_variances_stay(cells, w):
    cov = cv.parametric(cells, variance=2.0)
    strong = cv.strengthen(cov, w)
    np.testing.assert_allclose(strong.correlation, (1 - w) * cov.correlation + w, atol=1e-12)
    np.testing.assert_allclose(strong.std, cov.std, rtol=1e-12)
    assert (strong is cov) == (w == 0)


def test_lowrank_gains_one_column_and_equals_the_dense_formula(sst):
    cov = cv.from_data(sst, method="lowrank")
    strong = cv.strengthen(cov, 0.4)
    assert strong.u.shape[1] == cov.u.shape[1] + 1
    s = cov.std
    np.testing.assert_allclose(strong.matrix, 0.6 * cov.matrix + 0.4 * np.outer(s, s),
                               rtol=1e-10, atol=1e-12)


def test_spectral_samplers_sweep_their_length_scale_instead():
    g = xattrib.grid.make_grid(resolution=10.0, mask="ocean")
    cov = cv.parametric(xattrib.CellIndex.from_mask(g["mask"]), method="spectral")
    with pytest.raises(ValueError, match="length_scale_km"):
        cv.strengthen(cov, 0.5)


@pytest.mark.parametrize("w, err", [(-0.1, ValueError), (1.5, ValueError), ("a", TypeError)])
def test_bad_strength(small_grid, w, err):
    with pytest.raises(err, match="strength must be"):
        small_grid.xattrib.benchmark(n_samples=10, covariance={"strength": w})


def test_benchmark_strength_changes_x_not_f_unless_asked(small_grid, tmp_path):
    kw = {"n_samples": 3000, "seed": 4, "chunks": 1000}
    b0 = small_grid.xattrib.benchmark(**kw)
    b7 = small_grid.xattrib.benchmark(covariance={"strength": 0.7}, **kw)
    for v in ("response_breakpoints", "response_slopes"):  # F fixed (Krell et al.)
        xr.testing.assert_identical(b0[v], b7[v])
    bf = small_grid.xattrib.benchmark(covariance={"strength": 0.7, "response_strength": 0.7},
                                      **kw)
    assert not b0["response_slopes"].equals(bf["response_slopes"])
    cells = xattrib.CellIndex.from_mask(small_grid["mask"])
    r0 = np.corrcoef(cells.stack(b0["x"]).values.T)
    r7 = np.corrcoef(cells.stack(b7["x"]).values.T)
    off = ~np.eye(r0.shape[0], dtype=bool)
    assert r7[off].mean() > r0[off].mean() + 0.5
    assert b7.attrs["xattrib_covariance_strength"] == 0.7
    assert b7.attrs["xattrib_covariance_response_strength"] == 0.0
    path = xattrib.io.to_netcdf(b7, tmp_path / "b7.nc")  # a parametric Σ is rebuilt
    back = xattrib.generator_from_dataset(xattrib.io.open_dataset(path))
    np.testing.assert_array_equal(back.draw_x(0, 200), xattrib.generator_from_dataset(
        b7).draw_x(0, 200))
