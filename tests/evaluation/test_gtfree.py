"""evaluate(): lazy, chunk-invariant, seeded, parameters recorded, bad input named."""

import numpy as np
import pytest

import xattrib
from tests.conftest import raise_if_dask_computes
from xattrib.evaluation.gtfree import evaluate, recorded_params
from xattrib.gtfree_metrics import GTFREE_METRICS

CHEAP = ["faithfulness_correlation", "monotonicity_correlation", "deletion_gap", "road_gap",
         "avg_sensitivity", "local_lipschitz", "mprt", "emprt", "sparseness", "complexity"]


@pytest.fixture(scope="module")
def lazy_case(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=24, seed=1, chunks=8)
    model = xattrib.fit(bench, epochs=1, hidden=(8,), progress=False, fresh=False)
    heat = xattrib.attribute(bench, model, methods=["integrated_gradients", "gradient",
                                                    "smoothgrad"], progress=False)
    return bench, model, heat


def test_lazy_until_computed_and_chunk_invariant(lazy_case):
    bench, model, heat = lazy_case
    with raise_if_dask_computes():
        q = evaluate(heat, model, bench, metrics=CHEAP, seed=4,
                     avg_sensitivity={"n_samples": 3}, local_lipschitz={"n_samples": 3})
    assert q["faithfulness_correlation"].chunks is not None
    a = q.compute()
    other = evaluate(heat.compute().chunk({"sample": 5}), model, bench.compute(),
                     metrics=CHEAP, seed=4, avg_sensitivity={"n_samples": 3},
                     local_lipschitz={"n_samples": 3}).compute()
    for v in CHEAP:
        np.testing.assert_array_equal(a[v].values, other[v].values, err_msg=v)
        assert np.isfinite(a[v].values).all(), v
    again = evaluate(heat, model, bench, metrics=["faithfulness_correlation"], seed=5)
    assert not np.array_equal(again["faithfulness_correlation"].values,
                              a["faithfulness_correlation"].values)  # the seed matters


def test_same_shape_as_score_and_summarize_works(lazy_case):
    bench, model, heat = lazy_case
    q = evaluate(heat, model, bench, metrics=["sparseness", "complexity"]).compute()
    s = xattrib.score(heat, bench["truth"], metrics=["pearson"]).compute()
    assert q["sparseness"].dims == s["pearson"].dims
    table = xattrib.scoring.summarize(q)
    assert "sparseness" in str(table.data_vars) or len(table.data_vars) > 0


def test_every_parameter_and_reading_is_recorded(lazy_case):
    bench, model, heat = lazy_case
    q = evaluate(heat, model, bench, metrics=["faithfulness_correlation"],
                 faithfulness_correlation={"n_runs": 30})
    at = q["faithfulness_correlation"].attrs
    assert at["parameters"] == "n_runs=30, subset=0.1"
    assert at["higher_is_better"] == 1 and at["category"] == "faithfulness"
    assert at["units"] == "1" and "Bhatt" in at["reference"]
    assert q.attrs["baseline"] == "zero" and q.attrs["weights"] == "cell area"


def test_the_accessor(lazy_case):
    bench, model, heat = lazy_case
    q = heat.xattrib.evaluate(model, bench, metrics="sparseness")
    np.testing.assert_array_equal(
        q["sparseness"].values,
        evaluate(heat, model, bench, metrics="sparseness")["sparseness"].values)


def test_methods_rerun_with_their_recorded_parameters(lazy_case):
    bench, model, heat = lazy_case
    p = recorded_params(heat["attribution"], "integrated_gradients")
    assert p == {"n_steps": 64, "method": "gausslegendre"}
    assert recorded_params(heat["attribution"], "gradient") == {}


@pytest.mark.parametrize("kw, err, match", [
    ({"metrics": ["faithfulness_corelation"]}, ValueError,
     r"unknown metric 'faithfulness_corelation'; Did you mean 'faithfulness_correlation'"),
    ({"metrics": "sparseness", "sparseness": {"k": 1}}, TypeError,
     r"metric 'sparseness' has no parameter\(s\) \['k'\]"),
    ({"metrics": "sparseness", "road_gap": {}}, TypeError,
     r"parameters given for \['road_gap'\], which are not among the metrics"),
    ({"metrics": [], }, ValueError, r"metrics is empty"),
])
def test_bad_input(lazy_case, kw, err, match):
    bench, model, heat = lazy_case
    with pytest.raises(err, match=match):
        evaluate(heat, model, bench, **kw)


def test_a_model_on_another_grid_is_refused(lazy_case, grid10):
    bench, model, heat = lazy_case
    other = xattrib.Model.exact(grid10.xattrib.benchmark(n_samples=4, seed=0))
    with pytest.raises(ValueError, match="is not on the expected grid"):
        evaluate(heat, other, bench, metrics="sparseness")


def test_registry_has_at_least_ten_metrics_in_four_families():
    assert len(GTFREE_METRICS.names()) >= 10
    assert {GTFREE_METRICS.get(n).category for n in GTFREE_METRICS.names()} == {
        "faithfulness", "robustness", "randomisation", "complexity"}


@pytest.mark.parametrize("kw, match", [
    ({"road_gap": {"n_steps": 0}}, r"road_gap n_steps must be a whole number of at least 1"),
    ({"avg_sensitivity": {"radius": -0.2}}, r"avg_sensitivity radius must be a positive"),
    ({"faithfulness_correlation": {"n_runs": 1}}, r"n_runs must be a whole number of at "
                                                  r"least 2"),
])
def test_impossible_parameters(lazy_case, kw, match):
    bench, model, heat = lazy_case
    with pytest.raises(ValueError, match=match):
        evaluate(heat, model, bench, metrics=list(kw), **kw)


def test_a_model_of_two_variables_is_evaluated_on_all_its_cells(sst):
    """IG of a linear F from zero: removing any cells — of either variable — changes the
    output by exactly the sum of their attributions, so faithfulness correlation is 1; it
    would not be if the heatmaps and inputs of the two variables were paired wrongly."""
    two = xattrib.benchmark(xattrib.datasets.lagged(sst, lags=[0, 1]), n_samples=6,
                            chunks=6, response="linear")
    f = xattrib.Model.exact(two)
    heat = xattrib.attribute(two, f, methods=["integrated_gradients", "gradient"],
                             progress=False)
    q = evaluate(heat, f, two, metrics=["faithfulness_correlation", "sparseness"]).compute()
    np.testing.assert_allclose(q["faithfulness_correlation"].sel(
        xai_method="integrated_gradients"), 1.0, atol=1e-6)
    swapped = heat.rename(attribution_sst_lag0="attribution_sst_lag1",
                          attribution_sst_lag1="attribution_sst_lag0")
    qs = evaluate(swapped, f, two, metrics=["faithfulness_correlation"]).compute()
    assert float(qs["faithfulness_correlation"].sel(xai_method="integrated_gradients")
                 .max()) < 0.9
    with pytest.raises(ValueError, match="pass attribute's Dataset"):
        evaluate(heat["attribution_sst_lag0"], f, two)


def test_neighbours_of_several_variables_stay_within_their_variable(sst_cells):

    one, two = sst_cells.neighbours(), sst_cells.neighbours(2)
    d = sst_cells.n_cells
    np.testing.assert_array_equal(two[:d], one)
    np.testing.assert_array_equal(two[d:], np.where(one >= 0, one + d, -1))


def test_explainers_let_hand_made_maps_be_re_run(sst):
    """Maps from elsewhere, with the function that made them: the robustness and
    randomisation metrics then score them exactly as a registered method's."""
    import torch

    bench = xattrib.benchmark(n_samples=6, chunks=6, response="pwl")
    f = xattrib.Model.exact(bench)
    heat = xattrib.attribute(bench, f, methods="gradient", progress=False)
    mine = heat["attribution"].assign_coords(xai_method=["mine"])

    def gradient(x, base, net):
        net = net if net is not None else f.network()
        x = x.detach().clone().requires_grad_(True)
        net(x).sum().backward()
        return x.grad

    names = ["avg_sensitivity", "mprt"]
    ref = evaluate(heat, f, bench, metrics=names).compute()
    got = evaluate(mine, f, bench, metrics=names, explainers={"mine": gradient}).compute()
    for n in names:
        np.testing.assert_allclose(got[n].values, ref[n].values, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="re-run the attribution method"):
        evaluate(mine, f, bench, metrics=names)
    with pytest.raises(TypeError, match="explainers must map labels to callables"):
        evaluate(mine, f, bench, metrics=names, explainers={"mine": 3})
    assert torch.is_tensor(gradient(torch.zeros(1, 450), torch.zeros(1, 450), None))
