import dask
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import xattrib
from tests.conftest import raise_if_dask_computes
from xattrib import covariances as cv
from xattrib import io
from xattrib.generation.generator import BLOCK


@pytest.fixture(scope="module")
def sst_cov(sst):
    return cv.from_data(sst)


def small(grid, **kw):
    kw = {"n_samples": 3000, "seed": 1, "chunks": 700, **kw}
    return grid.xattrib.benchmark(**kw)


def test_lazy_until_asked(small_grid):
    with raise_if_dask_computes():
        b = small(small_grid)
        b["truth"].sum(["lat", "lon"]) - b["y"]
    assert all(b[v].chunks is not None for v in ("x", "y", "truth"))


def test_layout_and_nan_on_land(small_grid):
    b = small(small_grid).compute()
    assert b["x"].dims == ("sample", "lat", "lon") and b["y"].dims == ("sample",)
    land = ~small_grid["mask"]
    assert bool(b["x"].where(land).isnull().all()) and bool(b["truth"].where(land).isnull().all())
    assert bool((b["x"].notnull() == ~land).all())
    assert b["truth"].attrs["baseline"] == "zero"


@pytest.mark.parametrize("family", ["pwl", "linear", "tanh"])
def test_completeness_zero_baseline(small_grid, family):
    b = small(small_grid, response=family).compute()
    err = b["truth"].sum(["lat", "lon"]) - b["y"]
    assert float(abs(err).max()) < 1e-6 * float(abs(b["y"]).max() + 1e-3) + 1e-7


def _baselines(b0, grid):
    field = xr.full_like(grid["mask"], 0.3, dtype=float).where(grid["mask"])
    per = b0["x"].isel(sample=slice(None, None, -1)).drop_vars("sample").assign_coords(
        sample=b0["sample"]) * 0.5
    return {"expectation": "expectation", "value": -0.4, "field": field, "per-sample": per}


@pytest.mark.parametrize("kind", ["expectation", "value", "field", "per-sample"])
def test_completeness_every_baseline(small_grid, kind):
    b0 = small(small_grid)
    base = _baselines(b0, small_grid)[kind]
    b = small(small_grid, baseline=base).compute()
    assert b["truth"].attrs["baseline"] == kind
    gen = xattrib.generator_from_dataset(b)
    cells = xattrib.CellIndex.from_mask(b["mask"])
    if kind == "per-sample":
        fb = gen.contributions(cells.stack(base).values.astype(np.float32)).sum(1)
    else:
        fb = float(b["baseline_response"].sum())
    err = b["truth"].sum(["lat", "lon"]).values - (b["y"].values - fb)
    assert np.abs(err).max() < 1e-6
    # the truth is F(x) - F(b) cell by cell, and x itself does not depend on the baseline
    xr.testing.assert_identical(b["x"], b0["x"].compute())


def test_linear_truth_is_w_times_x_minus_b(small_grid):
    field = xr.full_like(small_grid["mask"], 0.7, dtype=float).where(small_grid["mask"])
    b = small(small_grid, response="linear", baseline=field).compute()
    w = b["response_weights"]
    expected = b.attrs["xattrib_scale"] * w * (b["x"] - field)
    xr.testing.assert_allclose(b["truth"], expected.transpose(*b["truth"].dims), rtol=1e-5,
                               atol=1e-7)


def test_sample_correlation_matches_sigma(sst, sst_cov):
    b = sst.xattrib.benchmark(n_samples=100_000, seed=3, chunks=25_000)
    cells = xattrib.CellIndex.from_mask(b["mask"])
    x = cells.stack(b["x"]).values.astype(np.float64)
    err = np.abs(np.corrcoef(x, rowvar=False) - sst_cov.correlation).max()
    assert err < 0.02


@settings(max_examples=8, deadline=None)
@given(chunks=st.integers(50, 2600), start=st.integers(0, 1500))
def test_chunk_invariance(small_grid, chunks, start):
    ref = small(small_grid, chunks=3000, n_samples=3000)
    other = small(small_grid, chunks=chunks, n_samples=3000)
    sl = slice(start, start + 400)
    for v in ("x", "y", "truth"):
        np.testing.assert_array_equal(other[v][sl].values, ref[v][sl].values)


def test_scheduler_invariance(small_grid):
    b = small(small_grid, chunks=BLOCK // 3)
    with dask.config.set(scheduler="threads"):
        a = b.compute()
    with dask.config.set(scheduler="synchronous"):
        s = b.compute()
    xr.testing.assert_identical(a, s)


def test_distributed_equals_local(small_grid):
    distributed = pytest.importorskip("distributed")
    b = small(small_grid, n_samples=1500, chunks=500)
    local = b.compute(scheduler="synchronous")
    with distributed.Client(n_workers=2, threads_per_worker=1, processes=False,
                            dashboard_address=None) as client:
        remote = client.compute(b).result()
    xr.testing.assert_identical(local, remote)


def test_different_seed_differs_same_seed_same(small_grid):
    a = small(small_grid, seed=1)["y"].values
    assert np.array_equal(a, small(small_grid, seed=1)["y"].values)
    assert not np.allclose(a, small(small_grid, seed=2)["y"].values)


@pytest.mark.parametrize("fmt", ["nc", "zarr"])
def test_rebuild_from_written_file_reproduces_y(tmp_path, small_grid, fmt):
    b = small(small_grid, response="pwl")
    path = tmp_path / f"bench.{fmt}"
    (io.to_netcdf if fmt == "nc" else io.to_zarr)(b, path)
    back = io.open_dataset(path).compute()
    gen = xattrib.generator_from_dataset(back)
    cells = xattrib.CellIndex.from_mask(back["mask"])
    y, _ = gen.respond(cells.stack(back["x"]).values)
    np.testing.assert_array_equal(y, back["y"].values)
    # and the stream continues identically: fresh samples from the rebuilt generator
    orig = xattrib.generator_from_dataset(b)
    np.testing.assert_array_equal(gen.draw_x(5000, 5100), orig.draw_x(5000, 5100))


def test_written_benchmark_is_cf_compliant(tmp_path, small_grid):
    p = io.to_netcdf(small(small_grid, n_samples=200, baseline="expectation"), tmp_path / "b.nc")
    assert io.check_cf(p) == []


def test_noise_snr(small_grid):
    b = small(small_grid, n_samples=20_000, chunks=5000, noise_snr=4.0).compute()
    noise = b["y"] - b["y_signal"]
    ratio = float(b["y_signal"].var() / noise.var())
    assert 3.6 < ratio < 4.4
    assert float(abs(b["truth"].sum(["lat", "lon"]) - b["y_signal"]).max()) < 1e-6


def test_parametric_sweep_changes_neighbour_correlation(small_grid):
    short = cv.parametric(small_grid, length_scale_km=500).matrix
    long = cv.parametric(small_grid, length_scale_km=5000).matrix
    assert long[0, 1] > short[0, 1]


@pytest.mark.parametrize("kernel", ["matern", "exponential", "gaussian"])
def test_parametric_kernels_positive_definite(grid10, kernel):
    c = cv.parametric(grid10, kernel=kernel, length_scale_km=1500, nu=2.5)
    assert np.linalg.eigvalsh(c.matrix)[0] > 0
    assert c.attrs["covariance_kernel"] == kernel


def test_from_data_shrinks_to_positive_definite(sst, sst_cov):
    lam = np.linalg.eigvalsh(sst_cov.matrix)
    assert lam[0] > 0 and np.allclose(np.diag(sst_cov.matrix), 1)
    assert 0 < sst_cov.attrs["covariance_shrinkage"] < 1
    with pytest.raises(ValueError, match="singular"):
        cv.from_data(sst, shrinkage=None)
    c = cv.from_data(sst, kind="covariance", shrinkage=0.2)
    assert not np.allclose(np.diag(c.matrix), 1)


def test_from_matrix_validation(small_grid):
    cells = xattrib.CellIndex.from_mask(small_grid["mask"])
    d = cells.n_cells
    with pytest.raises(ValueError, match="expected"):
        cv.from_matrix(np.eye(d + 1), cells)
    a = np.eye(d)
    a[0, 1] = 0.5
    with pytest.raises(ValueError, match="not symmetric"):
        cv.from_matrix(a, cells)
    with pytest.raises(ValueError, match="positive semi-definite"):
        cv.from_matrix(np.eye(d) - 2 * np.ones((d, d)) / d * 3, cells)
    b = small(small_grid, covariance=np.eye(d), n_samples=50)
    assert "covariance" in b and b.attrs["xattrib_covariance_source"] == "user matrix"


@pytest.mark.parametrize("kw,err,match", [
    ({"response": "cubic"}, ValueError, "unknown response"),
    ({"baseline": "mean"}, ValueError, "baseline must be one of"),
    ({"n_samples": 0}, ValueError, "n_samples"),
    ({"chunks": 0}, ValueError, "chunks"),
    ({"noise_snr": -1}, ValueError, "noise_snr"),
    ({"scale": "1/n"}, ValueError, "scale"),
    ({"n_breakpoints": 0}, ValueError, "n_breakpoints"),
])
def test_bad_input(small_grid, kw, err, match):
    with pytest.raises(err, match=match):
        small(small_grid, **kw)


def test_grid_without_mask_refused(small_grid):
    with pytest.raises(ValueError, match="'mask'"):
        xattrib.benchmark(small_grid.drop_vars("mask"), n_samples=10)


def test_auto_chunks_bound_the_chunk_size():
    """chunks="auto": 50,000 samples a chunk on the SST grid, ~128 MiB a chunk of x on a
    global grid (where 50,000 would be 13 GB at 1°); lazy either way."""
    with raise_if_dask_computes():
        sst = xattrib.benchmark(n_samples=120_000)
        g = xattrib.benchmark(xattrib.grid.make_grid(2.5, mask=None), n_samples=5_000)
    assert sst["x"].chunks[0][0] == 50_000
    per = g["x"].shape[1] * g["x"].shape[2] * 4
    assert g["x"].chunks[0][0] == 128 * 2**20 // per
    assert g.attrs["xattrib_covariance_sampler"] == "spectral"
    with pytest.raises(ValueError, match="or 'auto'"):
        xattrib.benchmark(n_samples=10, chunks="big")


# -- interacting responses: several kinds of truth -------------------------------------------
KINDS = ["truth", "truth_ig", "truth_main", "truth_interaction"]


@pytest.mark.parametrize("family, kw", [("pairs", {}), ("pairs", {"powers": (2, 1)}),
                                        ("gating", {}), ("gating", {"width": 0.0})])
def test_interacting_benchmark_holds_each_kind_and_is_complete(small_grid, family, kw):
    b = small(small_grid, response=family, **kw).compute()
    assert b.attrs["xattrib_truth_kinds"] == "shapley ig main interaction"
    assert b["truth"].attrs["truth_kind"] == "shapley"
    assert [b[v].attrs.get("truth_kind", "shapley") for v in KINDS] == [
        "shapley", "ig", "main", "interaction"]
    assert xattrib.scoring.truth_kinds(b) == dict(zip(
        ["shapley", "ig", "main", "interaction"], KINDS, strict=True))
    for v in ("truth", "truth_ig"):  # efficient kinds: they sum to y − F(0) = y
        err = b[v].sum(["lat", "lon"]) - b["y"]
        assert float(abs(err).max()) < 1e-6
    err = b["truth_main"].sum(["lat", "lon"]) - b["y"]
    assert float(abs(err).max()) > 1e-4  # main effects alone do not sum to it
    land = ~b["mask"]
    assert all(bool(b[v].where(land).isnull().all()) for v in KINDS)


@pytest.mark.parametrize("family", ["pairs", "gating"])
@pytest.mark.parametrize("chunks", [7, 64])
def test_interacting_chunk_invariance(small_grid, family, chunks):
    a = small(small_grid, response=family, chunks=300).compute()
    b = small(small_grid, response=family, chunks=chunks).compute()
    for v in ["x", "y", *KINDS]:
        xr.testing.assert_identical(a[v], b[v])


@pytest.mark.parametrize("family", ["pairs", "gating"])
@pytest.mark.parametrize("fmt", ["nc", "zarr"])
def test_interacting_file_round_trip(tmp_path, small_grid, family, fmt):
    b = small(small_grid, response=family, width=0.0) if family == "gating" else small(
        small_grid, response=family, powers=[1, 2])
    path = tmp_path / f"bench.{fmt}"
    (io.to_netcdf if fmt == "nc" else io.to_zarr)(b, path)
    back = io.open_dataset(path).compute()
    assert io.check_cf(path) == [] if fmt == "nc" else True
    gen, orig = xattrib.generator_from_dataset(back), xattrib.generator_from_dataset(b)
    assert gen.response.params.keys() == orig.response.params.keys()
    for k, v in orig.response.params.items():
        np.testing.assert_array_equal(gen.response.params[k], v)
    cells = xattrib.CellIndex.from_mask(back["mask"])
    x = cells.stack(back["x"]).values
    y, kinds = gen.truths(x, np.zeros(cells.n_cells))[0], gen.truths(x, np.zeros(
        cells.n_cells))[2]
    np.testing.assert_array_equal(y, back["y"].values)
    np.testing.assert_array_equal(kinds["ig"], cells.stack(back["truth_ig"]).values)


@pytest.mark.parametrize("kind", ["value", "field", "per-sample"])
def test_interacting_truth_relative_to_any_baseline_input(small_grid, kind):
    b0 = small(small_grid, response="gating")
    base = _baselines(b0, small_grid)[kind]
    b = small(small_grid, response="gating", baseline=base).compute()
    gen = xattrib.generator_from_dataset(b)
    cells = xattrib.CellIndex.from_mask(b["mask"])
    x = cells.stack(b0["x"]).values
    bx = (np.full(cells.n_cells, base) if kind == "value" else
          cells.stack(base).values)
    want = gen.response.truths(x, bx)
    for v, k in zip(KINDS, ["shapley", "ig", "main", "interaction"], strict=True):
        np.testing.assert_allclose(cells.stack(b[v]).values, gen.scale * want[k],
                                   rtol=2e-6, atol=1e-7)
    f_b = gen.scale * gen.response.value(np.broadcast_to(bx, x.shape))
    err = b["truth"].sum(["lat", "lon"]).values - (b["y"].values - f_b)
    assert np.abs(err).max() < 1e-6


@pytest.mark.parametrize("kw, match", [
    ({"baseline": "expectation"}, "relative to a baseline input"),
    ({"space": "eof"}, "acts on the grid"),
    ({"gate_cells": 20}, "gate_cells must be 1 to 12"),
    ({"gate_size": 3}, "gate_cells"),
])
def test_interacting_bad_input(small_grid, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        small(small_grid, response="gating", **kw)


def test_interacting_background_baseline_is_refused(small_grid):
    bg = small(small_grid)["x"].isel(sample=slice(0, 5)).rename(sample="background")
    with pytest.raises(ValueError, match="per-sample baseline"):
        small(small_grid, response="pairs", baseline=bg)


def test_regions_given_as_a_label_map_on_the_grid(small_grid):
    cells = xattrib.CellIndex.from_mask(small_grid["mask"])
    labels = np.zeros(cells.n_cells)
    labels[:3], labels[-5:] = 1, 2
    regions = cells.unstack(xr.DataArray(labels, dims="cell"))
    b = small(small_grid, response="gating", regions=regions)
    gen = xattrib.generator_from_dataset(b)
    np.testing.assert_array_equal(gen.response.regions(), labels.astype(int))
    wrong = regions.isel(lon=slice(1, None))
    with pytest.raises(ValueError, match="regions"):
        small(small_grid, response="gating", regions=wrong)


# -- several variables -------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_vars(sst):
    return xattrib.datasets.lagged(sst, lags=[0, 1])


def _two(two_vars, **kw):
    return xattrib.benchmark(two_vars, **{"n_samples": 600, "chunks": 250, **kw})


@pytest.mark.parametrize("baseline", ["zero", "expectation", 0.3])
def test_two_variables_truths_sum_to_y(two_vars, baseline):
    b = _two(two_vars, baseline=baseline)
    assert b.attrs["xattrib_variables"] == "sst_lag0 sst_lag1"
    assert "x" not in b and "truth" not in b
    total = sum(b[f"truth_{v}"].sum(["lat", "lon"]) for v in ("sst_lag0", "sst_lag1"))
    gen = xattrib.generator_from_dataset(b)
    if baseline == "zero":
        f_b = 0.0
    elif baseline == "expectation":
        f_b = float(gen.expected_contributions().sum())
    else:
        f_b = float(gen.contributions(np.full((1, gen.n_cells), 0.3))[0].sum())
    np.testing.assert_allclose(total.values, b["y"].values - f_b, atol=2e-5)
    # each variable's truth is F of its own cells only: the generator's columns in turn
    x, y, t = gen.draw(0, 5)
    cells = xattrib.CellIndex.from_mask(b["mask"])
    np.testing.assert_array_equal(cells.stack(b["sst_lag1"][:5]).values, x[:, 450:])


def test_two_variables_follow_their_joint_covariance(two_vars):
    b = _two(two_vars, n_samples=20_000, chunks=5000)
    cells = xattrib.CellIndex.from_mask(b["mask"])
    x = np.concatenate([cells.stack(b[v]).values for v in ("sst_lag0", "sst_lag1")], 1)
    target = cv.from_data(two_vars).matrix
    emp = np.cov(x, rowvar=False)
    assert np.abs(emp - target).max() < 0.08
    assert np.abs(np.diag(emp[:450, 450:]) - np.diag(target[:450, 450:])).mean() < 0.01


@pytest.mark.parametrize("chunks", [97, 600])
def test_two_variables_chunk_invariance(two_vars, chunks):
    ref = _two(two_vars, chunks=250).compute()
    other = _two(two_vars, chunks=chunks).compute()
    xr.testing.assert_identical(ref, other)


@pytest.mark.parametrize("fmt", ["nc", "zarr"])
def test_two_variables_round_trip_and_cf(tmp_path, two_vars, fmt):
    b = _two(two_vars)
    path = tmp_path / f"b.{fmt}"
    (io.to_netcdf if fmt == "nc" else io.to_zarr)(b, path)
    back = io.open_dataset(path)
    gen, orig = xattrib.generator_from_dataset(back), xattrib.generator_from_dataset(b)
    assert gen.variables == ("sst_lag0", "sst_lag1")
    np.testing.assert_array_equal(gen.draw(1000, 1100)[1], orig.draw(1000, 1100)[1])
    if fmt == "nc":
        assert io.check_cf(path) == []


def test_two_variables_on_a_parametric_grid(small_grid):
    b = xattrib.benchmark(small_grid, n_samples=300, chunks=300, variables=["sst", "slp"],
                          covariance={"cross_correlation": [[1, -0.5], [-0.5, 1]],
                                      "length_scale_km": [2000, 4000]})
    assert {"sst", "slp", "truth_sst", "truth_slp"} <= set(b.data_vars)
    cov = xattrib.generator_from_dataset(b).covariance
    d = cov.cells.n_cells
    same_cell = np.diag(cov.matrix[:d, d:])  # R · (L_sst L_slpᵀ)ᵢᵢ: |.| ≤ 0.5, below it
    assert np.all(same_cell < -0.3) and np.all(same_cell >= -0.5 - 1e-6)  # as kernels differ
    assert b.attrs["xattrib_covariance_length_scale_km"] == "2000 4000"


def test_two_variables_bad_input(two_vars, small_grid):
    with pytest.raises(ValueError, match="space='sht' transforms one field"):
        _two(two_vars, space="sht")
    with pytest.raises(ValueError, match="draws its interacting regions on one field"):
        _two(two_vars, response="pairs")
    with pytest.raises(ValueError, match="baseline='zero', 'mean' or"):
        _two(two_vars, baseline=two_vars["sst_lag0"].isel(time=0, drop=True))
    with pytest.raises(ValueError, match="collide with the benchmark's own"):
        xattrib.benchmark(two_vars.rename(sst_lag0="y"), n_samples=10)
    with pytest.raises(ValueError, match="has a space in its name"):
        xattrib.benchmark(two_vars.rename(sst_lag0="sst now"), n_samples=10)
    with pytest.raises(ValueError, match="name them with benchmark"):
        xattrib.benchmark(small_grid, n_samples=10, covariance={"cross_correlation": np.eye(2)})
