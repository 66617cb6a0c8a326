"""advise(): the verdict follows the rule, the numbers are the surrogates' against the exact
truth, the user's own network is checked, bad input is refused with the fix."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xattrib
from xattrib.evaluation import verdict
from xattrib.evaluation.auditing import TRUST_TAU, TRUST_TRUTH_FIRST

METHODS = ["gradient", "input_x_gradient", "integrated_gradients"]
METRICS = ["faithfulness_correlation", "sparseness"]
QUICK = dict(members=2, methods=METHODS, metrics=METRICS, n_samples=12, n_explain=8, seeds=1,
             epochs=2, progress=False)


@pytest.fixture(scope="module")
def users():
    """A user's network on the bundled SST (trained on another benchmark than advise's)."""
    sst = xattrib.datasets.pacific_sst().rename("sst")
    bench = xattrib.benchmark(sst, n_samples=300, seed=7, response="linear")
    mine = xattrib.fit(bench, hidden=(8,), epochs=3, progress=False, fresh=False)
    return sst, mine


@pytest.fixture(scope="module")
def advised(users):
    sst, mine = users
    target = mine.predict(sst.rename("x"))
    return xattrib.advise(mine, sst, target=target, responses=["pwl", "tanh"], **QUICK)


def test_verdicts_are_the_rule_on_each_family_and_hold_only_if_every_family_agrees(advised):
    a = advised.advice
    for q in a["gtfree_metric"].values:
        per = []
        for r in a["response"].values:
            row = a.sel(gtfree_metric=q, response=r)
            lo, hi, tf = (float(row[k]) for k in ("rank_agreement_low", "rank_agreement_high",
                                                   "truth_first"))
            want = verdict(lo, hi, tf)
            assert want == ("misleading" if hi < 0 else "trusted" if lo >= TRUST_TAU
                            and tf >= TRUST_TRUTH_FIRST else "uninformative")
            assert str(row["verdict_by_response"].values) == want
            per.append(want)
        overall = str(a["verdict"].sel(gtfree_metric=q).values)
        assert (overall == "trusted") == all(p == "trusted" for p in per)
        assert (overall == "misleading") == (overall != "trusted" and "misleading" in per)
    trusted = [q for q in a["gtfree_metric"].values
               if a["verdict"].sel(gtfree_metric=q) == "trusted"]
    assert a.attrs["trusted_metrics"] == (", ".join(trusted) or "none")


def test_the_recommendation_is_the_best_pooled_fidelity_with_its_interval(advised):
    a = advised.advice
    pooled = a["pooled_fidelity"]
    assert a.attrs["recommended_method"] == str(pooled.idxmax("xai_method").values)
    # equal samples and members per family: the pooled mean is the mean of the families'
    np.testing.assert_allclose(pooled, a["fidelity"].mean("response"), atol=1e-12)
    assert (a["pooled_fidelity_low"] <= pooled).all() and (pooled <= a["pooled_fidelity_high"]).all()
    best = a.attrs["recommended_method"]
    tied = [m for m in a.attrs["tied_methods"].split(", ") if m != "none"]
    for m in METHODS:
        if m == best:
            continue
        overlaps = float(a["pooled_fidelity_high"].sel(xai_method=m)) >= float(
            a["pooled_fidelity_low"].sel(xai_method=best))
        assert (m in tied) == overlaps


def test_the_methods_own_errors_are_measured_on_the_exact_response(advised):
    """On an additive F, IG from the zero baseline is the truth itself (each cell's path
    integral is F_i(x_i) − F_i(0)); the gradient is not."""
    ex = advised.advice["exact_fidelity"]
    assert (ex.sel(xai_method="integrated_gradients") > 0.99).all()
    assert (ex.sel(xai_method="gradient") < ex.sel(xai_method="integrated_gradients")).all()
    a = advised.advice
    assert (a["bias2"] >= 0).all() and (a["variance"] >= 0).all()


def test_the_users_network_is_explained_and_checked(users, advised):
    sst, mine = users
    heat = advised.heatmaps
    assert heat["xai_method"].values.tolist() == METHODS
    assert heat.sizes["time"] == 8  # the last n_explain samples of the data
    direct = xattrib.attribute(sst.isel(time=slice(-8, None)), mine, methods=METHODS,
                               progress=False)
    xr.testing.assert_allclose(heat["attribution"], direct["attribution"].compute())
    a = advised.advice
    for q in a["gtfree_metric"].values:
        trusted = str(a["verdict"].sel(gtfree_metric=q).values) == "trusted"
        assert bool(np.isfinite(a["real_value"].sel(gtfree_metric=q)).all()) == trusted
    assert a.attrs["user_r2"] == pytest.approx(1.0)  # its target is its own prediction
    assert np.isfinite(a["surrogate_r2"]).all()


def test_the_report_says_the_verdict_first(advised):
    text = advised.report()
    first = text.split("\n\n")[1]
    assert first.startswith(f"Believe {advised.advice.attrs['recommended_method']}")
    assert first == advised.advice.attrs["verdict"]
    assert "Rule: trusted: lower 95 % bound" in text


def test_the_accessor_and_an_ensemble(users):
    sst, _ = users
    bench = xattrib.benchmark(sst, n_samples=300, seed=7, response="linear")
    ens = xattrib.fit(bench, hidden=(8,), epochs=2, progress=False, seed=[0, 1], fresh=False)
    kw = dict(QUICK, responses=["pwl"], metrics=["sparseness"])
    a = xattrib.advise(ens, sst, **kw)
    b = sst.xattrib.advise(ens, **kw)
    xr.testing.assert_identical(a.advice, b.advice)
    assert "member" in a.heatmaps.dims


@pytest.mark.parametrize("bad, kwargs, message", [
    (lambda s: s.isel(lat=slice(1, None)), {}, r"different grids"),
    (lambda s: s.isel(time=slice(0, 20)), {}, r"advise needs at least 50"),
    (lambda s: s, {"target": xr.DataArray(np.zeros(7), dims="time")},
     r"target must have one value per sample of data.*length 50"),
    (lambda s: s, {"n_trian": 100}, r"Did you mean n_train"),
    (lambda s: s, {"responses": ["pairs"]}, r"'pairs' is not additive"),
    (lambda s: s, {"responses": []}, r"responses is empty"),
    (lambda s: s, {"members": 1}, r"members must be an integer of at least 2"),
])
def test_bad_input_is_refused_before_anything_trains(users, bad, kwargs, message):
    sst, mine = users
    with pytest.raises((ValueError, TypeError), match=message):
        xattrib.advise(mine, bad(sst), **{**QUICK, **kwargs})


def test_the_exact_response_is_not_a_network_to_advise_on(users):
    sst, _ = users
    bench = xattrib.benchmark(sst, n_samples=20, seed=0)
    with pytest.raises(ValueError, match="not Model.exact"):
        xattrib.advise(xattrib.Model.exact(bench), sst, **QUICK)


def test_default_methods_a_network_cannot_run_are_left_out_and_said():
    """LRP has no rule for a CNN's normalisation layers: advise's defaults drop it for this
    network and say why (in the advice and its report), rather than fail after training."""
    sst = xattrib.datasets.pacific_sst()
    b = xattrib.benchmark(sst, n_samples=200, seed=1)
    cnn = xattrib.fit(b, arch="cnn", channels=(4, 8), epochs=1, fresh=False, progress=False)
    adv = xattrib.advise(cnn, sst, metrics=["sparseness"], responses=["pwl"], n_samples=8,
                         n_explain=4, seeds=1, epochs=1, progress=False)
    assert "lrp_z" not in adv.advice["xai_method"].values
    assert adv.advice.attrs["skipped_methods"].startswith("lrp_z: Module of type")
    assert "left out: lrp_z" in adv.report()
    with pytest.raises(TypeError, match="no rule defined"):  # named, it is not dropped
        xattrib.advise(cnn, sst, methods=["gradient", "lrp_z", "integrated_gradients"],
                       metrics=["sparseness"], responses=["pwl"], n_samples=8, n_explain=4,
                       seeds=1, epochs=1, progress=False)
