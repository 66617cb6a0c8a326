"""The advice in words: the verdict first; disagreement and a gap in R² said, not hidden."""

from __future__ import annotations

import numpy as np
import xarray as xr

from xattrib.advice.report import advice_report, verdict_words


def _advice(real_tau: float, user_r2: float, surrogate_r2: float) -> xr.Dataset:
    m, q = ["gradient", "integrated_gradients"], ["faithfulness_correlation", "mprt"]
    one = {"response": ["pwl"]}
    ds = xr.Dataset(
        {"pooled_fidelity": ("xai_method", [0.2, 0.9]),
         "pooled_fidelity_low": ("xai_method", [0.1, 0.85]),
         "pooled_fidelity_high": ("xai_method", [0.3, 0.95]),
         "fidelity": (("response", "xai_method"), [[0.2, 0.9]]),
         "exact_fidelity": (("response", "xai_method"), [[0.3, 1.0]]),
         "bias2": (("response", "xai_method"), [[0.5, 0.1]]),
         "variance": (("response", "xai_method"), [[0.2, 0.1]]),
         **{k: (("response", "gtfree_metric"), [v]) for k, v in {
             "rank_agreement": [0.6, -0.5], "rank_agreement_low": [0.5, -0.6],
             "rank_agreement_high": [0.7, -0.4]}.items()},
         "verdict_by_response": (("response", "gtfree_metric"), [["trusted", "misleading"]]),
         "verdict": ("gtfree_metric", ["trusted", "misleading"]),
         "real_rank_agreement": ("gtfree_metric", [real_tau, np.nan]),
         "real_pick": ("gtfree_metric", ["gradient", ""])},
        coords={"xai_method": m, "gtfree_metric": q, **one})
    ds.attrs.update(recommended_method="integrated_gradients", tied_methods="none",
                    trusted_metrics="faithfulness_correlation", n_train=500,
                    responses="pwl", surrogate_r2_mean=surrogate_r2, user_r2=user_r2,
                    trust_rule="the rule")
    ds.attrs["verdict"] = verdict_words(ds)
    return ds


def test_agreement_is_reported_and_the_verdict_comes_first():
    ds = _advice(0.8, 0.95, 0.96)
    text = ds.attrs["verdict"]
    assert text.startswith("Believe integrated_gradients") and "r = 0.90 [95 % CI 0.85, 0.95]" in text
    assert "Check it with: faithfulness_correlation" in text and "Disagreement" not in text
    assert "Misleading here (they rank against the truth): mprt" in text
    assert "Caution" not in text
    report = advice_report(ds)
    assert report.split("\n\n")[1] == text


def test_disagreement_on_the_users_network_is_said():
    text = _advice(-0.2, 0.95, 0.96).attrs["verdict"]
    assert "Disagreement: faithfulness_correlation does not rank the methods on your network" in text


def test_a_gap_between_the_surrogates_and_the_users_network_is_said():
    assert "Caution: the surrogates fit worse than your network" in \
        _advice(0.8, 0.99, 0.6).attrs["verdict"]
    assert "Caution: the surrogates learnt little" in _advice(0.8, np.nan, 0.2).attrs["verdict"]
