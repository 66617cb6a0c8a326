"""Sparseness and complexity through evaluate: a one-hot map, a constant map, a uniform map;
land values never counted."""

import numpy as np
import pytest

from xattrib.evaluation.gtfree import evaluate


def _maps(heat, bench):
    a = heat["attribution"].isel(xai_method=[0, 0])
    v = np.zeros(a.shape)
    v[0, :, 2, 3] = 5.0  # one-hot on a valid cell
    v[1] = 2.0           # constant
    m = a.copy(data=v).where(bench["mask"]).assign_coords(xai_method=["one_hot", "constant"])
    assert bool(bench["mask"][2, 3])
    return m


def test_one_hot_and_constant(linear_case):
    bench, exact, heat, _ = linear_case
    q = evaluate(_maps(heat, bench), exact, bench, metrics=["sparseness", "complexity"])
    sp, cx = q["sparseness"].compute(), q["complexity"].compute()
    assert float(sp.sel(xai_method="one_hot").min()) > 0.95
    np.testing.assert_allclose(sp.sel(xai_method="constant"), 0.0, atol=1e-12)
    np.testing.assert_allclose(cx.sel(xai_method="one_hot"), 0.0, atol=1e-12)
    # uniform weights: a constant map's entropy is log(number of valid cells)
    u = evaluate(_maps(heat, bench), exact, bench, metrics=["complexity"], weights=None)
    n = int(bench["mask"].sum())
    np.testing.assert_allclose(u["complexity"].sel(xai_method="constant"), np.log(n))
    assert u.attrs["weights"] == "uniform" and q.attrs["weights"] == "cell area"


def test_land_values_are_never_counted(linear_case):
    bench, exact, heat, _ = linear_case
    m = _maps(heat, bench)
    on_land = m.fillna(1e6)  # garbage on land cells: nothing may change
    a = evaluate(m, exact, bench, metrics=["sparseness", "complexity",
                                           "faithfulness_correlation"]).compute()
    b = evaluate(on_land, exact, bench, metrics=["sparseness", "complexity",
                                                 "faithfulness_correlation"]).compute()
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values)
    assert not bool(a["sparseness"].isnull().any())


def test_trim_results_get_the_metrics_of_the_map_alone(linear_case):
    import xattrib

    bench, exact, _, _ = linear_case
    t = xattrib.trim(bench.isel(sample=slice(0, 4)), exact, methods="gradient",
                     progress=False)
    q = evaluate(t, exact, bench, metrics=["sparseness", "complexity"]).compute()
    assert q["sparseness"].dims == ("xai_method", "sample")
    with pytest.raises(ValueError, match="no latitude/longitude .* cannot run on them"):
        evaluate(t, exact, bench, metrics=["faithfulness_correlation"])


def test_trim_groups_of_several_variables_are_one_map(sst):
    """Every variable's groups together, as several variables' grid cells are one map:
    the entropy of the concatenated groups (uniform weights), computed here by hand."""
    import xattrib

    bench = xattrib.benchmark(xattrib.datasets.lagged(sst, [0, 1]), n_samples=20, seed=0,
                              response="linear")
    exact = xattrib.Model.exact(bench)
    t = xattrib.trim(bench.isel(sample=slice(0, 4)), exact, transform="fourier",
                     methods=["gradient", "integrated_gradients"], progress=False)
    q = evaluate(t, exact, bench.isel(sample=slice(0, 4)), metrics=["complexity"]).compute()
    a = np.abs(np.concatenate([t["attribution_sst_lag0"].values,
                               t["attribution_sst_lag1"].values], -1))
    p = a / a.sum(-1, keepdims=True)
    want = -(p * np.log(np.where(p > 0, p, 1.0))).sum(-1)
    np.testing.assert_allclose(q["complexity"].values, want, rtol=1e-6)
    assert q["complexity"].dims == ("xai_method", "sample")
