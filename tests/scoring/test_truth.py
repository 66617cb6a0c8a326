import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import xattrib
from xattrib import metrics as M
from xattrib.scoring.summary import null_attributions, skill_map, summarize

SIMILARITY = ["pearson", "spearman", "cosine", "sign_agreement", "topk", "relevance_mass",
              "rank_accuracy"]


@pytest.fixture(scope="module")
def truth(small_grid):
    b = small_grid.xattrib.benchmark(n_samples=40, seed=2, chunks=20)
    return b["truth"].compute()


def test_hand_computed_small_arrays():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    g = np.array([1.0, 3.0, 2.0, 5.0])
    w = np.full(4, 0.25)
    # unweighted: equal to numpy's corrcoef / scipy's spearman
    assert np.isclose(M.pearson(a, g, w), np.corrcoef(a, g)[0, 1])
    assert np.isclose(M.spearman(a, g, w), 0.8)
    assert np.isclose(M.cosine(a, g, w), a @ g / np.linalg.norm(a) / np.linalg.norm(g))
    assert np.isclose(M.nmae(a, g, w), np.abs(a - g).sum() / np.abs(g).sum())
    assert np.isclose(M.completeness(a, g, w), 1.0)
    # weighted Pearson by hand: weights (0.1, 0.2, 0.3, 0.4)
    wv = np.array([0.1, 0.2, 0.3, 0.4])
    ma, mg = wv @ a, wv @ g
    r = wv @ ((a - ma) * (g - mg)) / np.sqrt(wv @ (a - ma) ** 2 * (wv @ (g - mg) ** 2))
    assert np.isclose(M.pearson(a, g, wv), r)
    # sign agreement ignores cells with negligible truth
    assert M.sign_agreement(np.array([1.0, -1, 5]), np.array([1.0, 1, 1e-9]), np.ones(3) / 3,
                            sign_threshold=0.05) == 0.5
    # top-2 by magnitude: {3, 4} vs {2, 4} share one cell
    assert M.topk(a, g, w, k=2) == 0.5
    # relevance mass: share of a⁺ = (2, 0, 1, 1.5) on positive-truth cells (1, 3)
    a2, g2 = np.array([2.0, -1.0, 1.0, 1.5]), np.array([0.0, 3.0, -1.0, 4.0])
    assert np.isclose(M.relevance_mass(a2, g2, w), 1.5 / 4.5)
    # rank accuracy: top-2 of a⁺ = {0, 3}, top-2 of g⁺ = {1, 3}: one hit of two
    assert np.isclose(M.rank_accuracy(a2, g2, w, k=2), 0.5)


def test_perfect_scores_one_negated_minus_one(truth):
    s = xattrib.score(truth, truth)
    for name in SIMILARITY:
        assert np.allclose(s[name].values, 1.0), name
    assert np.allclose(s["nmae"], 0) and np.allclose(s["completeness"], 0, atol=1e-6)
    neg = xattrib.score(-truth, truth, metrics=["pearson", "spearman", "cosine"])
    for name in ("pearson", "spearman", "cosine"):
        assert np.allclose(neg[name].values, -1.0), name


def test_agrees_with_xskillscore(truth):
    xs = pytest.importorskip("xskillscore")
    rng = np.random.default_rng(0)
    a = truth + 0.01 * xr.DataArray(rng.standard_normal(truth.shape), dims=truth.dims)
    ours = xattrib.score(a, truth, metrics=["pearson"])["pearson"]
    w = xattrib.grid.cell_area(truth).where(truth.notnull().all("sample"), 0.0)
    theirs = xs.pearson_r(a, truth, dim=["lat", "lon"], weights=w, skipna=True)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-6)  # float32 data
    ours_u = xattrib.score(a, truth, metrics=["pearson"], weights=None)["pearson"]
    theirs_u = xs.pearson_r(a, truth, dim=["lat", "lon"], skipna=True)
    np.testing.assert_allclose(ours_u.values, theirs_u.values, rtol=1e-6)


def test_weighting_matters_and_uniform_is_unweighted(truth):
    rng = np.random.default_rng(1)
    a = truth + 0.02 * xr.DataArray(rng.standard_normal(truth.shape), dims=truth.dims)
    wtd = xattrib.score(a, truth, metrics=["pearson"])["pearson"]
    uni = xattrib.score(a, truth, metrics=["pearson"], weights=None)["pearson"]
    assert not np.allclose(wtd, uni)
    cells = xattrib.CellIndex.from_data(truth)
    ref = [np.corrcoef(x, y)[0, 1] for x, y in zip(cells.stack(a).values,
                                                   cells.stack(truth).values, strict=True)]
    np.testing.assert_allclose(uni.values, ref, rtol=1e-10)


def test_dask_equals_eager_and_lazy(truth):
    from tests.conftest import raise_if_dask_computes

    a = truth * 2 + 0.1
    with raise_if_dask_computes(max_computes=1):  # the valid cells, from one truth sample
        lazy = xattrib.score(a.chunk({"sample": 7}), truth.chunk({"sample": 7}))
    xr.testing.assert_allclose(lazy.compute(), xattrib.score(a, truth))


def test_positive_only_convention(small_grid):
    b = small_grid.xattrib.benchmark(n_samples=30, seed=0, chunks=30).compute()
    g = b["truth"]
    pred = g.sum(["lat", "lon"])
    s = xr.where(pred >= 0, 1.0, -1.0)
    heat = xr.Dataset({"attribution": xr.concat([(g * s).clip(min=0) * s, g], "xai_method"),
                       "prediction": pred, "mask": b["mask"]})
    heat = heat.assign_coords(xai_method=["alpha", "exact"],
                              positive_only=("xai_method", [True, False]))
    out = heat.xattrib.score(g, metrics=["pearson"])
    assert np.allclose(out["pearson"], 1.0)  # s·a equals (s·g)⁺ for the one-signed map
    assert out.attrs["positive_only_convention"] == "positive_part"


@settings(max_examples=30, deadline=None)
@given(a=arrays(np.float64, (3, 12), elements=st.floats(-10, 10)),
       g=arrays(np.float64, (3, 12), elements=st.floats(-10, 10)),
       scale=st.floats(0.1, 100))
def test_invariances(a, g, scale):
    """Pearson/Spearman/cosine are bounded and invariant to positive scaling of a."""
    w = np.full(12, 1 / 12)
    for f in (M.pearson, M.spearman, M.cosine):
        r = f(a, g, w)
        ok = np.isfinite(r)
        assert np.all(np.abs(r[ok]) <= 1 + 1e-9)
        np.testing.assert_allclose(f(a * scale, g, w)[ok], r[ok], rtol=1e-6, atol=1e-9)


def test_unknown_metric_and_bad_weights(truth):
    with pytest.raises(ValueError, match="unknown metric.*Valid metrics: pearson"):
        xattrib.score(truth, truth, metrics=["pearsn"])
    with pytest.raises(ValueError, match="weights must be"):
        xattrib.score(truth, truth, weights="cos")
    with pytest.raises(ValueError, match="not on the expected grid"):
        xattrib.score(truth, truth.assign_coords(lat=truth.lat + 1))


def test_summary_bootstrap_and_nulls(truth, small_grid):
    b = small_grid.xattrib.benchmark(n_samples=40, seed=2, chunks=20).compute()
    nulls = null_attributions(b)
    exact = truth.expand_dims(xai_method=["exact"]).assign_coords(
        complete=("xai_method", [True]), positive_only=("xai_method", [False]))
    s = xattrib.score(xr.concat([exact, nulls], "xai_method", coords="minimal"), truth,
                      metrics=["pearson", "cosine"])
    t = summarize(s, n_boot=200)
    ex = t["pearson"].sel(xai_method="exact")
    assert float(ex.sel(statistic="mean")) == pytest.approx(1.0)
    rnd = t["pearson"].sel(xai_method="null_random")
    assert float(rnd.sel(statistic="mean_lo")) < float(rnd.sel(statistic="mean")) < \
        float(rnd.sel(statistic="mean_hi"))
    assert abs(float(rnd.sel(statistic="mean"))) < 0.2
    assert int(t["pearson"].sel(xai_method="null_constant").sel(statistic="n")) == 0  # undefined
    sk = skill_map(truth.expand_dims(xai_method=["exact"]), truth)
    assert np.allclose(sk.where(small_grid["mask"]).fillna(1), 1.0)


def test_scale_free_metrics_of_tiny_maps():
    """Found by hypothesis in CI: squares of ~1e-161 values are subnormal, so the plain
    formulas gave |cosine| = 1.06 for two constant maps and Pearson r = 1.02."""
    w = np.full(12, 1 / 12)
    a, g = np.ones((1, 12)), np.full((1, 12), 1.15361742e-161)
    np.testing.assert_allclose(M.cosine(a, g, w), 1.0, rtol=1e-12)
    np.testing.assert_allclose(M.cosine(a, -g, w), -1.0, rtol=1e-12)
    assert np.isnan(M.cosine(a, 0 * g, w)).all()
    x = np.random.default_rng(0).standard_normal((2, 12))
    np.testing.assert_allclose(M.pearson(x, x * 1e-161, w), 1.0, rtol=1e-12)
    np.testing.assert_allclose(M.pearson(x, x * -1e-161, w), -1.0, rtol=1e-12)


def test_skill_map_matches_xr_corr_and_is_nan_where_constant():
    import warnings

    rng = np.random.default_rng(7)
    t = xr.DataArray(rng.standard_normal((30, 3, 4)), dims=("sample", "lat", "lon"))
    a = t + 0.5 * xr.DataArray(rng.standard_normal((30, 3, 4)), dims=t.dims)
    a[:, 0, 0] = 1.0            # a constant map at one cell
    a[:, 1, 1] = np.nan         # a land cell
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sk = skill_map(a, t)
    ref = np.array([[np.corrcoef(a[:, i, j], t[:, i, j])[0, 1] if (i, j) not in
                     ((0, 0), (1, 1)) else np.nan for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(sk.values, ref, atol=1e-12)  # numpy's corrcoef, cell by cell


def test_several_variables_are_scored_alone_and_together(sst):
    bench = xattrib.benchmark(xattrib.datasets.lagged(sst, lags=[0, 1]), n_samples=40,
                              chunks=40)
    f = xattrib.Model.exact(bench)
    heat = xattrib.attribute(bench, f, methods=["integrated_gradients", "gradient"])
    s = xattrib.score(heat, bench, metrics=["pearson", "nmae"])
    assert s["input_variable"].values.tolist() == ["sst_lag0", "sst_lag1", "all"]
    for v in ("sst_lag0", "sst_lag1"):  # each variable: the one-variable score
        alone = xattrib.score(heat[f"attribution_{v}"], bench[f"truth_{v}"],
                              metrics=["pearson"])
        np.testing.assert_allclose(s["pearson"].sel(input_variable=v).values,
                                   alone["pearson"].values)
    # all: one weighted Pearson over both variables' cells (numpy, by hand)
    cells = xattrib.CellIndex.from_mask(bench["mask"])
    w = cells.stack(bench["cell_area"]).values
    w = np.tile(w / w.sum(), 2) / 2
    a = np.concatenate([cells.stack(heat[f"attribution_{v}"].sel(
        xai_method="gradient")).values for v in ("sst_lag0", "sst_lag1")], 1)
    g = np.concatenate([cells.stack(bench[f"truth_{v}"]).values
                        for v in ("sst_lag0", "sst_lag1")], 1)
    am, gm = (a * w).sum(1, keepdims=True), (g * w).sum(1, keepdims=True)
    r = ((a - am) * (g - gm) * w).sum(1) / np.sqrt(
        ((a - am) ** 2 * w).sum(1) * ((g - gm) ** 2 * w).sum(1))
    np.testing.assert_allclose(s["pearson"].sel(input_variable="all", xai_method="gradient"),
                               r, rtol=1e-5)
    # IG on the exact F is the truth, variable by variable (up to its quadrature across the
    # PWL knots); the gradient, a local slope, is far from it
    ig = s["nmae"].sel(xai_method="integrated_gradients")
    assert float(ig.max()) < 0.05
    assert float(s["nmae"].sel(xai_method="gradient").min()) > 5 * float(ig.max())
    with pytest.raises(ValueError, match="pass the benchmark Dataset as truth"):
        xattrib.score(heat, bench["truth_sst_lag0"])
