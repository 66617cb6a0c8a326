"""EOFs of a sampler's covariance without its matrix (Lanczos on products Σ v)."""

import numpy as np
import pytest

import xattrib
from xattrib import covariances as cv
from xattrib.grid import CellIndex, make_grid
from xattrib.transforms import EOF
from xattrib.transforms import eof as eof_mod


@pytest.mark.parametrize("which", ["lowrank", "spectral"])
def test_lanczos_modes_equal_the_eigendecomposition(sst, which, monkeypatch):
    cov = (cv.from_data(sst, method="lowrank") if which == "lowrank" else
           cv.parametric(make_grid(15.0, mask="ocean"), method="spectral"))
    ref = EOF.from_covariance(cov.matrix, cov.cells, 6)
    monkeypatch.setattr(eof_mod, "EIGH_MAX_CELLS", 10)  # force the operator path
    got = EOF.from_covariance(cov, cov.cells, 6)
    assert "Lanczos" in got.params["source"]
    np.testing.assert_allclose(got.v.numpy(), ref.v.numpy(), atol=2e-5)
    np.testing.assert_allclose(got.features["explained_variance_ratio"],
                               ref.features["explained_variance_ratio"], rtol=1e-8)


@pytest.fixture(scope="module")
def grid2():
    """A 2° global ocean grid: more cells than any sampler forms Σ for (8,192)."""
    return make_grid(2.0, mask="ocean")


def test_transformed_spaces_on_a_grid_too_large_for_sigma(grid2):
    cells = CellIndex.from_mask(grid2["mask"])
    assert cells.n_cells > cv.base.MATRIX_MAX_CELLS
    for space in ("eof", "sht"):
        b = xattrib.benchmark(grid2, space=space, n_samples=40, chunks=40, n_features=8,
                              response="linear")
        assert b.attrs["xattrib_covariance_sampler"] == "spectral"
        total = b["truth"].sum(b["truth"].dims[1]) - b["y"]
        assert float(abs(total).max()) < 1e-5
        # the response reads s = A x of the very same draws: drawn as (A L) z, with A L
        # from adjoint syntheses (L is never formed); a linear F shows s in its truth
        gen = xattrib.generator_from_dataset(b)
        x, _, t = gen.draw(0, 5)
        s = t / (gen.scale * gen.response.params["weights"])
        np.testing.assert_allclose(s, x.astype(float) @ gen.space.analysis.T, atol=2e-4)
    # TRIM on that grid: the benchmark's own basis, and the EOFs of its (spectral) Σ
    f = xattrib.Model.exact(b)
    part = b.isel(sample=slice(0, 4))
    own = xattrib.trim(part, f, transform="benchmark", method="integrated_gradients",
                       groups="features", progress=False).compute()
    np.testing.assert_allclose(own["attribution"].isel(xai_method=0).values,
                               part["truth"].values, atol=2e-4 * float(abs(part["truth"]).max()))
    eofs = xattrib.trim(part, f, transform="eof", method="integrated_gradients",
                        transform_kwargs={"n_modes": 4}, progress=False).compute()
    assert eofs.sizes["mode"] == 4
    assert float(abs(eofs["completeness_error"]).max()) < 1e-4
    # EOFs of data on the same grid: the low-rank sampler, Lanczos on U Uᵀ + diag(s²)
    maps = xattrib.benchmark(grid2, n_samples=60, chunks=60, seed=3)["x"]
    low = xattrib.benchmark(maps.rename(sample="time"), space="eof", n_features=5,
                            n_samples=20, chunks=20)
    assert low.attrs["xattrib_covariance_sampler"] == "lowrank"
    evr = low["explained_variance_ratio"].values
    assert np.all(np.diff(evr) <= 0) and 0 < evr.sum() < 1
