"""The advice in words: the verdict first, then the tables it rests on."""

from __future__ import annotations

import math
from typing import Any

import xarray as xr

__all__ = ["R2_GAP", "R2_LEARNT", "advice_report", "describe", "verdict_words"]

#: surrogates whose mean R² is this far from the user's network's get a caution
R2_GAP = 0.1
#: surrogates below this R² get a caution when the user's R² is unknown
R2_LEARNT = 0.5

_TEXT = {
    "fidelity": "mean area-weighted Pearson r with the exact truth on the surrogate "
                "networks (over held-out samples and members)",
    "fidelity_low": "bootstrap 2.5 % quantile of fidelity",
    "fidelity_high": "bootstrap 97.5 % quantile of fidelity",
    "pooled_fidelity": "fidelity pooled over the response families",
    "pooled_fidelity_low": "bootstrap 2.5 % quantile of pooled_fidelity",
    "pooled_fidelity_high": "bootstrap 97.5 % quantile of pooled_fidelity",
    "exact_fidelity": "Pearson r with the truth of the method on the exact response (its own "
                      "error, no network)",
    "bias2": "squared error of the members' mean map (normalised by the truth's mean square)",
    "variance": "members' spread around their mean map (normalised as bias2)",
    "rank_agreement": "Kendall tau between methods ranked by the metric and by fidelity",
    "rank_agreement_low": "bootstrap 2.5 % quantile of rank_agreement",
    "rank_agreement_high": "bootstrap 97.5 % quantile of rank_agreement",
    "truth_first": "fraction of samples in which the truth scores best of the ladder",
    "ladder_monotonicity": "mean Spearman rho of the metric with the corruption of the truth, "
                           "signed so that 1 is good",
    "verdict_by_response": "the rule of trust on each response family's audit",
    "verdict": "trusted only if trusted under every response family; misleading if "
               "misleading under any",
    "surrogate_r2": "validation R2 of each surrogate network",
    "real_value": "the trusted metric on the user's network and data (mean over samples)",
    "real_rank_agreement": "Kendall tau between the trusted metric's ranking of the methods "
                           "on the user's network and the benchmark's fidelity ranking",
    "real_pick": "the method the trusted metric ranks best on the user's network",
}


def describe(out: xr.Dataset) -> None:
    """CF long names (and dimensionless units for the numbers) of the advice's variables."""
    for k, v in _TEXT.items():
        if k in out:
            words = out[k].dtype.kind in "OUS"
            out[k].attrs.update(long_name=v, **({} if words else {"units": "1"}))


def _f(v: Any, digits: int = 2) -> str:
    v = float(v)
    return "–" if not math.isfinite(v) else f"{v:.{digits}f}"


def verdict_words(out: xr.Dataset) -> str:
    """The verdict in plain words: which method, how sure, which metrics, and whether the
    user's own network agrees."""
    best = out.attrs["recommended_method"]
    row = out.sel(xai_method=best)
    text = (f"Believe {best}: on networks of your architecture trained on {out.attrs['n_train']} "
            f"samples of fields like yours, its heatmaps correlate with the exact truth at "
            f"r = {_f(row['pooled_fidelity'])} [95 % CI {_f(row['pooled_fidelity_low'])}, "
            f"{_f(row['pooled_fidelity_high'])}] across the response families "
            f"{out.attrs['responses']}.")
    tied = out.attrs.get("tied_methods", "none")
    if tied != "none":
        text += f" Within its interval: {tied}."
    trusted = out.attrs["trusted_metrics"]
    if trusted == "none":
        text += (" No GT-free metric passed the rule of trust in this regime: do not rank "
                 "methods on your network with any of them.")
    else:
        text += f" Check it with: {trusted} (trusted by the rule under every family)."
        agree = [f"{m} (tau {_f(out['real_rank_agreement'].sel(gtfree_metric=m))}, picks "
                 f"{out['real_pick'].sel(gtfree_metric=m).values})"
                 for m in trusted.split(", ")]
        text += " On your network they rank the methods as " + "; ".join(agree) + "."
        bad = [m for m in trusted.split(", ")
               if not float(out["real_rank_agreement"].sel(gtfree_metric=m)) > 0]
        if bad:
            text += (f" Disagreement: {', '.join(bad)} does not rank the methods on your "
                     "network as the benchmark does — your network may differ from the "
                     "surrogates (see their R² below).")
    misleading = [str(m) for m, v in zip(out["gtfree_metric"].values, out["verdict"].values,
                                         strict=True) if v == "misleading"]
    if misleading:
        text += f" Misleading here (they rank against the truth): {', '.join(misleading)}."
    r2u = out.attrs.get("user_r2", math.nan)
    r2s = float(out.attrs["surrogate_r2_mean"])
    text += (f" Surrogates' validation R² {_f(r2s, 3)}"
             + (f", your network's R² {_f(r2u, 3)}." if math.isfinite(r2u) else
                " (pass target= to compare your network's)."))
    if math.isfinite(r2u) and abs(r2u - r2s) > R2_GAP:
        text += (f" Caution: the surrogates fit {'worse' if r2s < r2u else 'better'} than your "
                 "network, so they may explain differently; train them more like it (n_train=, "
                 "epochs=) before relying on this advice.")
    elif not r2s >= R2_LEARNT:
        text += (f" Caution: the surrogates learnt little (R² below {R2_LEARNT}); the advice "
                 "is about networks that barely fit — give them more samples (n_train=).")
    return text


def advice_report(out: xr.Dataset) -> str:
    """report.md: the verdict, then the per-method and per-metric tables."""
    lines = ["# Which attribution to believe, and which metric to check it with", "",
             out.attrs["verdict"], "", "## Methods against the exact truth (surrogates)", "",
             "| method | " + " | ".join(f"r ({r})" for r in out["response"].values)
             + " | pooled r [95 % CI] | exact F's own r | bias² | variance |",
             "|---|" + "---|" * (len(out["response"]) + 4)]
    for m in out["xai_method"].values:
        row = out.sel(xai_method=m)
        per = " | ".join(_f(row["fidelity"].sel(response=r)) for r in out["response"].values)
        lines.append(
            f"| {m} | {per} | {_f(row['pooled_fidelity'])} [{_f(row['pooled_fidelity_low'])}, "
            f"{_f(row['pooled_fidelity_high'])}] | {_f(row['exact_fidelity'].mean())} | "
            f"{_f(row['bias2'].mean(), 3)} | {_f(row['variance'].mean(), 3)} |")
    lines += ["", "## GT-free metrics audited in your regime", "",
              "| metric | " + " | ".join(f"tau [95 % CI] ({r})" for r in out["response"].values)
              + " | verdict | tau on your network | picks on your network |",
              "|---|" + "---|" * (len(out["response"]) + 3)]
    for q in out["gtfree_metric"].values:
        row = out.sel(gtfree_metric=q)
        per = " | ".join(
            f"{_f(row['rank_agreement'].sel(response=r))} "
            f"[{_f(row['rank_agreement_low'].sel(response=r))}, "
            f"{_f(row['rank_agreement_high'].sel(response=r))}] "
            f"{row['verdict_by_response'].sel(response=r).values}"
            for r in out["response"].values)
        lines.append(f"| {q} | {per} | {row['verdict'].values} | "
                     f"{_f(row['real_rank_agreement'])} | {row['real_pick'].values or '–'} |")
    skipped = out.attrs.get("skipped_methods", "none")
    if skipped != "none":
        lines += ["", f"Default methods that cannot run on this network, left out: {skipped}."]
    lines += ["", f"Rule: {out.attrs['trust_rule']}.", "",
              "The advice holds for networks like yours on fields like yours: it is measured on "
              f"surrogates of your architecture (validation R² "
              f"{_f(out.attrs['surrogate_r2_mean'], 3)}) trained on {out.attrs['n_train']} "
              "samples of benchmarks whose covariance is your data's."]
    return "\n".join(lines) + "\n"
