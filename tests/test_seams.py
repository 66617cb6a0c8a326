"""Where features meet: one vocabulary across the verbs, files re-opened with plain xarray,
an ensemble where a model is expected, samples matched by label.

Each test fails on the code before these seams were closed (the singular ``method=`` went
to captum as Integrated Gradients' option; ``evaluate(metric=)`` was told to pass
``metric_name={...}``; a plain ``xr.open_dataset`` file was taken for hand-made maps;
``audit(ensemble)`` raised a raw transpose error; equal-length but different samples
passed).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xattrib

METHODS3 = ["integrated_gradients", "gradient", "input_x_gradient"]


def test_singular_method_is_the_alias_of_methods_in_every_verb(linear_case):
    bench, exact, heat, _ = linear_case
    one = xattrib.attribute(bench, exact, method="gradient", progress=False)
    assert one["xai_method"].values.tolist() == ["gradient"]
    xr.testing.assert_allclose(one["attribution"],
                               heat["attribution"].sel(xai_method=["gradient"]))
    a = xattrib.trim(bench.isel(sample=slice(0, 4)), exact, method="gradient",
                     progress=False)
    b = xattrib.trim(bench.isel(sample=slice(0, 4)), exact, methods="gradient",
                     progress=False)
    xr.testing.assert_allclose(a["attribution"], b["attribution"])
    e1 = xattrib.evaluate(heat, exact, bench, metric="sparseness")
    e2 = xattrib.evaluate(heat, exact, bench, metrics=["sparseness"])
    xr.testing.assert_identical(e1, e2)
    kw = dict(n_samples=6, seeds=1)
    t1 = xattrib.audit(bench, exact, method=METHODS3, metric=["sparseness"], **kw)
    t2 = xattrib.audit(bench, exact, methods=METHODS3, metrics=["sparseness"], **kw)
    xr.testing.assert_identical(t1, t2)


@pytest.mark.parametrize("verb, kwargs, hint", [
    ("attribute", {"method": "gradient", "methods": ["integrated_gradients"]},
     r"method= is another name for methods=; pass one of them, not both"),
    ("audit", {"metric": ["sparseness"], "metrics": ["complexity"]},
     r"metric= is another name for metrics="),
    ("attribute", {"sample_dimm": "sample"}, r"Did you mean sample_dim=\?"),
    ("evaluate", {"metirc": ["sparseness"]}, r"Did you mean metrics=\?"),
    ("audit", {"samples": 10}, r"audit\(\) got an unexpected keyword argument 'samples'\. "
                               r"Did you mean n_samples=\?"),
    ("trim", {"tranform": "fourier"}, r"Did you mean transform=\?"),
])
def test_a_verbs_own_keywords_come_first_in_hints(linear_case, verb, kwargs, hint):
    bench, exact, heat, _ = linear_case
    calls = {"attribute": lambda: xattrib.attribute(bench, exact, progress=False, **kwargs),
             "trim": lambda: xattrib.trim(bench, exact, progress=False, **kwargs),
             "evaluate": lambda: xattrib.evaluate(heat, exact, bench, **kwargs),
             "audit": lambda: xattrib.audit(bench, exact, methods=METHODS3, **kwargs)}
    with pytest.raises(TypeError, match=hint):
        calls[verb]()


def test_method_parameters_still_pass_through(linear_case):
    bench, exact, _, _ = linear_case
    a = xattrib.attribute(bench, exact, methods="integrated_gradients", n_steps=8,
                          progress=False)
    assert "n_steps=8" in a["attribution"].attrs["parameters_integrated_gradients"]
    b = xattrib.attribute(bench, exact, methods="integrated_gradients",
                          integrated_gradients={"method": "riemann_trapezoid"},
                          progress=False)
    assert "riemann_trapezoid" in b["attribution"].attrs["parameters_integrated_gradients"]


@pytest.mark.parametrize("bad", [{"gradient": 1}, 3, ["gradient", 2]])
def test_methods_of_a_wrong_type_are_refused_not_iterated(linear_case, bad):
    bench, exact, heat, _ = linear_case
    with pytest.raises(TypeError, match="methods must be a method name or a list of names"):
        xattrib.attribute(bench, exact, methods=bad, progress=False)
    with pytest.raises(TypeError, match="metrics must be a metric's name or a list"):
        xattrib.score(heat, bench, metrics=bad)


def test_score_takes_one_metric_name(linear_case):
    _, _, heat, _ = linear_case
    bench = linear_case[0]
    s = xattrib.score(heat, bench, metrics="pearson")  # not its letters
    assert list(s.data_vars) == ["pearson"]


def test_heatmaps_reopened_with_plain_xarray_are_xattribs_own(linear_case, tmp_path):
    bench, exact, heat, _ = linear_case
    path = xattrib.io.to_netcdf(heat, tmp_path / "heat.nc")
    with xr.open_dataset(path) as plain:
        plain = plain.load()
    assert "xai_method" not in plain.coords  # CF-clean: labels are an auxiliary coordinate
    # the one line docs/io.md gives
    labelled = plain.set_index(xai_method="xai_method_label")
    np.testing.assert_allclose(labelled["attribution"].sel(xai_method="gradient").values,
                               heat["attribution"].sel(xai_method="gradient").values)
    # and every verb reads the plain file as xattrib's own maps: methods re-run, not NaN
    metrics = ["avg_sensitivity", "faithfulness_correlation"]
    want = xattrib.evaluate(heat, exact, bench, metrics=metrics, avg_sensitivity={
        "n_samples": 2})
    got = xattrib.evaluate(plain, exact, bench, metrics=metrics, avg_sensitivity={
        "n_samples": 2})
    assert np.isfinite(got["avg_sensitivity"].values).all()
    np.testing.assert_allclose(got["avg_sensitivity"].values,
                               want["avg_sensitivity"].values, rtol=1e-5)
    s = xattrib.score(plain, bench, metrics=["pearson"])
    assert s["xai_method"].values.tolist() == ["integrated_gradients", "gradient"]


def test_evaluate_matches_samples_by_label_not_count(linear_case):
    bench, exact, heat, _ = linear_case
    first, last = heat.isel(sample=slice(0, 6)), bench.isel(sample=slice(6, 12))
    with pytest.raises(ValueError, match=r"labels differ at 6 of 6 .* heat.sel\(sample="):
        xattrib.evaluate(first, exact, last, metrics=["faithfulness_correlation"])
    with pytest.raises(ValueError, match=r"heat has 6, ds 12"):
        xattrib.evaluate(first, exact, bench.isel(sample=slice(0, 12)),
                         metrics=["faithfulness_correlation"])


@pytest.fixture(scope="module")
def tiny_ensemble(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=60, seed=0, response="linear").compute()
    ens = xattrib.fit(bench, seed=[0, 1], epochs=1, hidden=(4,), progress=False, fresh=False)
    return bench, ens


def test_audit_of_an_ensemble_audits_each_member(tiny_ensemble):
    bench, ens = tiny_ensemble
    kw = dict(methods=METHODS3, metrics=["sparseness", "faithfulness_correlation"],
              n_samples=6, seeds=1)
    out = xattrib.audit(bench, ens, **kw)
    assert out.sizes["member"] == 2
    assert out["member"].values.tolist() == [0, 1]
    one = xattrib.audit(bench, ens[1], **kw)
    np.testing.assert_allclose(out["rank_agreement"].sel(member=1).values,
                               one["rank_agreement"].values)
    assert out.attrs["trust_table"].count("Member") == 2


def test_output_units_of_a_users_network_reach_its_heatmaps_and_file(sst, tmp_path):
    import torch

    net = torch.nn.Linear(450, 1)
    m = xattrib.Model.from_module(net, like=sst, units="K", factory=torch.nn.Linear,
                                  factory_kwargs={"in_features": 450, "out_features": 1})
    heat = xattrib.attribute(sst.isel(time=slice(0, 3)), m,
                             methods=["integrated_gradients", "gradient"], progress=False)
    assert heat["attribution"].attrs["units_integrated_gradients"] == "K"
    assert heat["completeness_error"].attrs["units"] == "K"
    assert heat["prediction"].attrs["units"] == "K"
    back = xattrib.Model.load(m.save(tmp_path / "m.nc"), factory=torch.nn.Linear)
    assert back.units == {"y": "K"}
    plain = xattrib.Model.from_module(net, like=sst)
    h1 = xattrib.attribute(sst.isel(time=slice(0, 3)), plain, methods="gradient",
                           progress=False)
    assert h1["prediction"].attrs["units"] == "1"


def test_ensemble_maps_are_matched_to_members_by_seed(tiny_ensemble):
    bench, ens = tiny_ensemble
    test = bench.isel(sample=slice(-4, None))
    heat = xattrib.attribute(test, ens, methods="gradient", progress=False)
    q = xattrib.evaluate(heat, ens, test, metrics=["sparseness"])
    assert q["member"].values.tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"members \[5, 6\] are not the ensemble's \[0, 1\]"):
        xattrib.evaluate(heat.assign_coords(member=[5, 6]), ens, test, metrics=["sparseness"])


def test_input_dimensions_named_as_result_dimensions_are_refused(linear_case, tiny_ensemble):
    bench, exact, heat, _ = linear_case
    with pytest.raises(ValueError, match=r"dimension 'xai_method', the name the results give "
                                         r"to methods; rename yours first"):
        xattrib.attribute(bench.rename(sample="xai_method"), exact, methods="gradient",
                          progress=False)
    eb, ens = tiny_ensemble
    as_members = eb.isel(sample=slice(0, 4)).rename(sample="member")
    with pytest.raises(ValueError, match=r"dimension 'member', the name the results give to "
                                         r"the ensemble's members"):
        xattrib.attribute(as_members, ens, methods="gradient", progress=False)
    # one network may read samples called member: nothing collides
    one = xattrib.attribute(as_members, ens[0], methods="gradient", progress=False)
    assert one["attribution"].dims == ("xai_method", "member", "lat", "lon")


def test_a_metric_of_the_other_kind_is_named_with_the_verb_that_computes_it(linear_case):
    """score takes truth metrics, evaluate GT-free ones: a name from the other registry is
    answered with the verb that computes it, not with 'unknown' and a far-off hint."""
    bench, exact, heat, _ = linear_case
    with pytest.raises(ValueError, match=r"'sparseness' is a GT-free metric.*xattrib\.evaluate"):
        xattrib.score(heat, bench, metrics=["pearson", "sparseness"])
    with pytest.raises(ValueError, match=r"'pearson' is a truth metric.*xattrib\.score"):
        xattrib.evaluate(heat, exact, bench, metrics=["pearson"])


def test_old_module_names_are_the_renamed_modules():
    """The modules renamed for what they hold (docs/architecture.md, "Names") keep their old
    import paths, as the same objects: nothing registers twice, users' imports keep working."""
    import importlib

    for old, new in xattrib.RENAMED.items():
        assert importlib.import_module(old) is importlib.import_module(new)
    import xattrib.probes.road as old_road
    from xattrib.evaluation.trust import trust_table
    from xattrib.metrics import METRICS
    from xattrib.probes import FAMILIES, PROBES, Probe

    import xattrib.gtfree_metrics.road as new_road

    assert old_road is new_road and trust_table is xattrib.evaluation.trust_table
    assert METRICS is xattrib.truth_metrics.TRUTH_METRICS
    assert PROBES is xattrib.gtfree_metrics.GTFREE_METRICS and Probe.__name__ == "GTFreeMetric"
    assert FAMILIES == xattrib.gtfree_metrics.CATEGORIES
    assert xattrib.metrics is xattrib.truth_metrics and xattrib.probes is xattrib.gtfree_metrics
    assert PROBES.get("sparseness").family == PROBES.get("sparseness").category == "complexity"
