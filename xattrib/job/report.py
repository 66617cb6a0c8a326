"""The main job's report: the score table and ``report.md``."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np
import xarray as xr

from ..dims import INPUT_VARIABLE_DIM, METHOD_DIM, TRUTH_KIND_DIM
from ..io import versions

__all__ = ["PERTURBATION_GROUPS", "kind_table", "method_settings", "render_report",
           "score_table", "variable_table"]

#: perturbation methods perturb patches of cells on large grids: at most about this many
#: groups (occlusion on a 1° grid cell by cell would be 43,268 forward passes per sample)
PERTURBATION_GROUPS = 1_000


def _fmt(v: float, digits: int = 2) -> str:
    return "–" if not np.isfinite(v) else f"{v:.{digits}f}"


#: method parameters that change how fast a method runs, never a number it gives
_SPEED_ONLY = ("perturbations_per_eval",)


def method_settings(heat: xr.Dataset) -> dict[str, str]:
    """Each method's settings that change its numbers (patch size, steps, draws...), as
    ``attribute`` recorded them on the heatmaps: ``{method: "n_steps=64, ..."}``."""
    attrs = heat["attribution"].attrs if "attribution" in heat else heat.attrs
    out = {}
    for m in heat[METHOD_DIM].values:
        text = str(attrs.get(f"parameters_{m}", "none"))
        parts = [p for p in text.split(", ") if p and p != "none"
                 and p.partition("=")[0] not in _SPEED_ONLY]
        out[str(m)] = ", ".join(parts) or "–"
    return out


def score_table(table: xr.Dataset, exact: xr.Dataset | None = None,
                settings: dict[str, str] | None = None) -> str:
    """A Markdown table of the per-method summary (mean Pearson with its 95 % interval...).

    With ``exact`` (the summary of the same methods on the exact F), a column with each
    method's mean Pearson r on the true function follows the network's. With ``settings``
    (:func:`method_settings`), a last column says what each method ran with: a patch size
    or a step count changes its numbers, so they stand beside them."""
    cols = [("pearson", "Pearson r (mean [95% CI])"), ("spearman", "Spearman ρ"),
            ("cosine", "cosine"), ("sign_agreement", "sign agreement"), ("topk", "top-10% overlap"),
            ("nmae", "NMAE"), ("completeness", "completeness error")]
    cols = [c for c in cols if c[0] in table]
    head = [t for _, t in cols]
    if exact is not None:
        head.insert(1, "Pearson r on exact F")
    if settings is not None:
        head.append("settings")
    lines = ["| method | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for m in table[METHOD_DIM].values:
        cells = []
        for name, _ in cols:
            s = table[name].sel({METHOD_DIM: m})
            mean = float(s.sel(statistic="mean"))
            if name == "pearson":
                cells.append(f"{_fmt(mean)} [{_fmt(float(s.sel(statistic='mean_lo')))}, "
                             f"{_fmt(float(s.sel(statistic='mean_hi')))}]")
            elif name == "completeness":
                cells.append(f"{mean:.2e}" if np.isfinite(mean) else "–")
            else:
                cells.append(_fmt(mean))
            if name == "pearson" and exact is not None:
                known = m in exact[METHOD_DIM].values
                cells.append(_fmt(float(exact["pearson"].sel({METHOD_DIM: m}).sel(
                    statistic="mean"))) if known else "–")
        if settings is not None:
            cells.append(settings.get(str(m), "–").replace("|", "\\|"))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _r_nmae(one_method: xr.Dataset, dim: str, labels: list[str]) -> list[str]:
    """Cells "mean Pearson r / mean NMAE" of one method's summary, for each label of ``dim``."""
    out = []
    for label in labels:
        one = one_method.sel({dim: label, "statistic": "mean"})
        out.append(f"{_fmt(float(one['pearson']))} / {_fmt(float(one['nmae']))}")
    return out


def variable_table(table: xr.Dataset) -> str:
    """Markdown: each method's mean Pearson r and NMAE on each input variable's cells alone
    (a model of several input variables)."""
    names = [str(v) for v in table[INPUT_VARIABLE_DIM].values if str(v) != "all"]
    head = [f"{v}: r / NMAE" for v in names]
    lines = ["| method | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for m in table[METHOD_DIM].values:
        cells = _r_nmae(table.sel({METHOD_DIM: m}), INPUT_VARIABLE_DIM, names)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _variables_section(table: xr.Dataset) -> list[str]:
    if INPUT_VARIABLE_DIM not in table.dims:
        return []
    return [
        "## Scores on each input variable", "",
        "The table above scores every variable's cells as one map (`all`); here each "
        "variable's heatmap against its own truth (mean Pearson r and NMAE). A method can "
        "find the right cells of one variable and miss the other.", "",
        variable_table(table), ""]


def _all(table: xr.Dataset) -> xr.Dataset:
    """The summary over every variable's cells (the table itself for one variable)."""
    if INPUT_VARIABLE_DIM not in table.dims:
        return table
    return table.sel({INPUT_VARIABLE_DIM: "all"}, drop=True)


def kind_table(net: xr.Dataset, exact: xr.Dataset | None = None) -> str:
    """Markdown: each method's mean Pearson r and NMAE against each kind of truth of an
    interacting benchmark, on the network and (when given) on the exact F."""
    kinds = [str(k) for k in net[TRUTH_KIND_DIM].values]
    head = [f"{k}: r / NMAE" for k in kinds]
    lines = ["| method | model | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(head)]
    for m in net[METHOD_DIM].values:
        for label, tab in (("network", net), ("exact F", exact)):
            if tab is None:
                continue
            if m not in tab[METHOD_DIM].values:
                lines.append(f"| {m} | {label} | " + " | ".join("–" for _ in kinds) + " |")
                continue
            cells = _r_nmae(tab.sel({METHOD_DIM: m}), TRUTH_KIND_DIM, kinds)
            lines.append(f"| {m} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _kinds_section(kinds: tuple[xr.Dataset | None, xr.Dataset | None],
                   left_out: list[str]) -> list[str]:
    net, exact = kinds
    if net is None:
        return []
    return [
        "## Scores against each kind of truth", "",
        "The response has interactions, so complete methods no longer share one target "
        "(docs/interactions.md): *shapley* (the `truth` above) splits a pure pairwise "
        "interaction equally, *ig* is Integrated Gradients' own target, *main* the "
        "first-order ANOVA effects, *interaction* the higher-order terms each cell takes "
        "part in, counted whole, and *leave_one_out* = main + interaction, occlusion's "
        "target. Mean Pearson r and NMAE per kind; the closest kind is the one a method "
        "targets.", "",
        kind_table(net, exact), "",
        *([f"Not run on the exact F (no LRP rule for its product and gate modules): "
           f"{', '.join(left_out)}", ""] if left_out else [])]


def _trust_section(trust: xr.Dataset) -> list[str]:
    return [
        "## GT-free metrics against the truth", "",
        "Which metric a user without a truth could rank these methods with (`audit.nc`; the "
        "full audit: `xattrib audit`; formulas and reading: docs/audit.md). *Rank "
        "agreement*: Kendall τ between the methods ranked by the metric and by their Pearson "
        "r with the truth, per sample; *ladder*: how monotonically the metric worsens as the "
        "truth itself is corrupted (1: perfectly); *noise floor*: its spread over its own "
        "random seeds.", "",
        str(trust.attrs["trust_table"]), ""]


def _figures(table: xr.Dataset) -> list[str]:
    names = ([str(v) for v in table[INPUT_VARIABLE_DIM].values if str(v) != "all"]
             if INPUT_VARIABLE_DIM in table.dims else [])
    suffixes = [f"_{v}" for v in names] or [""]
    return [
        *[f"- `maps{s}.png`: truth and every method for three test samples"
          + (f" ({s[1:]})" if s else "") for s in suffixes],
        "- `histograms.png`: per-sample Pearson r with the truth, per method"
        + (" (all variables' cells)" if names else ""),
        *[f"- `skill{s}.png`: per-cell correlation with the truth over the test samples"
          + (f" ({s[1:]})" if s else "") for s in suffixes], ""]


def render_report(cfg: Any, model: Any, table: xr.Dataset, timings: dict[str, float],
                  command: str | None, skipped: list[str],
                  exact: xr.Dataset | None = None, trust: xr.Dataset | None = None,
                  kinds: tuple[xr.Dataset | None, xr.Dataset | None] = (None, None),
                  exact_left_out: list[str] | None = None,
                  settings: dict[str, str] | None = None) -> str:
    """``report.md``: the model's fidelity, the score table, the GT-free metrics against the
    truth, the figures and provenance."""
    a = table.attrs
    gate = "passes" if model.r2 >= 0.99 else "FAILS (attributions are capped by model fidelity)"
    lines = [
        "# xattrib benchmark report", "",
        f"Command: `{command or 'xattrib.job.run_benchmark'}`", "",
        "## Model fidelity", "",
        f"- validation R² of the network: **{model.r2:.4f}** — the 0.99 gate {gate}",
        f"- validation R² of a linear regression (how nonlinear the benchmark is): "
        f"{model.linear_r2:.4f}",
        f"- trained on {model.provenance.get('fit_epochs_run')} epochs × "
        f"{model.provenance.get('fit_samples_per_epoch'):,} fresh samples (a new pool every "
        f"{model.provenance.get('fit_fresh_every')} epochs), batch "
        f"{model.provenance.get('fit_batch_size')}, lr {model.provenance.get('fit_lr')}; "
        f"stopped by {model.provenance.get('fit_stopped')} (fit's defaults unless set)",
        "- validation R² by epoch: " + ", ".join(
            f"{h['epoch']}: {h['val_r2']:.4f}" for h in model.history), "",
        "## Scores on held-out test samples", "",
        f"{cfg.test_samples} test samples; baseline `{cfg.baseline}` for the truth and the "
        f"methods; weights: {a.get('weights')}; positive-only convention: "
        f"{a.get('positive_only_convention')}. Null explanations (`null_*`) show what no "
        "skill looks like."
        + (f" *Pearson r on exact F*: the same method on the benchmark's true function "
           f"(`xattrib.Model.exact`, first {cfg.exact_samples} test samples), i.e. the "
           "method's own error without the network's." if exact is not None else ""), "",
        "*settings*: what each method ran with, on the network and on the exact F alike. "
        "A patch of p × p cells is perturbed as one, so occlusion and Shapley sampling on "
        "patches are not cell-by-cell exact; on grids of more than "
        f"{PERTURBATION_GROUPS:,} valid cells the job perturbs patches (about "
        f"{PERTURBATION_GROUPS:,} of them) to bound the cost.", "",
        score_table(_all(table), None if exact is None else _all(exact), settings), "",
        *_variables_section(table),
        *([f"Skipped (cannot use baseline `{cfg.baseline}`): {', '.join(skipped)}", ""]
          if skipped else []),
        *_kinds_section(kinds, exact_left_out or []),
        *(_trust_section(trust) if trust is not None else []),
        "## Figures", "",
        *_figures(table),
        "## Provenance", "",
        *([f"- input variables: {a['xattrib_variables']} (one joint covariance)"]
          if a.get("xattrib_variables") else []),
        f"- seed {cfg.seed}; response `{cfg.response}`; covariance "
        f"{a.get('xattrib_covariance_source')}, drawn by the "
        f"`{a.get('xattrib_covariance_sampler', 'dense')}` sampler"
        + (f" (squeezed: {a['xattrib_covariance_squeezed_dims']})"
           if a.get("xattrib_covariance_squeezed_dims") else ""),
        f"- versions: {', '.join(f'{k} {v}' for k, v in versions().items())}",
        f"- timings (s): {json.dumps({k: round(v, 1) for k, v in timings.items()})}",
        f"- configuration: `{json.dumps(asdict(cfg))}`", "",
    ]
    return "\n".join(lines)
