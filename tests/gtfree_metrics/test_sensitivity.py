"""Robustness: a linear network's gradient never changes (sensitivity 0); IG's does."""

import numpy as np
import pytest

from xattrib.evaluation.gtfree import evaluate


def test_gradient_of_a_linear_network_is_perfectly_robust(linear_case):
    bench, exact, heat, rand = linear_case
    q = evaluate(heat, exact, bench, metrics=["avg_sensitivity", "max_sensitivity",
                                              "local_lipschitz"]).compute()
    for v in q.data_vars:
        np.testing.assert_allclose(q[v].sel(xai_method="gradient"), 0.0, atol=1e-6)
        assert float(q[v].sel(xai_method="integrated_gradients").min()) > 0
    assert (q["max_sensitivity"] >= q["avg_sensitivity"] - 1e-12).all()
    # IG = w ⊙ x on a linear network: a(x+δ) − a(x) = w ⊙ δ, so sensitivity is exactly
    # ||w δ|| / ||w x||; its mean over δ ~ U(−r, r)·std is about r·||w std|| / (√3 ||w x||)
    assert q["avg_sensitivity"].attrs["parameters"] == "n_samples=10, radius=0.2"


def test_hand_made_maps_cannot_be_rerun(linear_case):
    bench, exact, heat, rand = linear_case
    with pytest.raises(ValueError, match=r"re-run the attribution method, but none of the "
                                         r"maps \['random'\]"):
        evaluate(rand, exact, bench, metrics=["avg_sensitivity"])
    import xarray as xr

    mixed = xr.concat([heat["attribution"], rand], "xai_method")
    q = evaluate(mixed, exact, bench, metrics=["avg_sensitivity", "sparseness"]).compute()
    assert bool(q["avg_sensitivity"].sel(xai_method="random").isnull().all())
    assert "'random'" in q["avg_sensitivity"].attrs["not_computed"]
    assert not bool(q["sparseness"].isnull().any())
    default = evaluate(rand, exact, bench)  # all by default: those that can run
    assert "avg_sensitivity" not in default and "faithfulness_correlation" in default
