"""``audit()``: which GT-free metric tracks the truth, checked on a benchmark.

For every GT-free metric Q of :mod:`xattrib.gtfree_metrics`:

- ``rank_agreement``: per sample, Kendall τ between the methods ranked by Q (oriented, best
  first) and ranked by their fidelity to the truth (area-weighted Pearson r with ``truth``);
  the mean over samples with a bootstrap 95 % interval;
- ``ladder_monotonicity``: Q on maps made from the truth itself — T, (1 − λ)T + λε for λ in
  ``ladder`` (ε the truth of another sample: the truth's own spatial covariance and scale,
  independent of this sample), T shuffled over cells, −T, T smoothed over neighbours, the
  input x, a white-noise map and a constant map. Per sample, Spearman ρ of Q with λ, signed
  so that 1 means "Q gets worse as the truth is corrupted"; ``truth_first`` is the fraction
  of samples in which T scores best of all the ladder's maps;
- ``noise_floor``: Q's standard deviation when only its own random draws change (seeds),
  averaged over methods and samples: differences below it are not meaningful;
- ``skill``: Bommer et al. (2024)'s skill score (Q − Q_random) / (Q_ideal − Q_random)
  per method, with the truth's own skill beside it (Q_random: the white-noise map).

The trust table (:func:`trust_table`) puts these side by side with the method each metric
would pick and the one the truth picks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from ..attribution import attribute
from ..attribution.engine import method_names, per_member
from ..dims import INPUT_VARIABLE_DIM, METHOD_DIM
from ..generation import generator_from_dataset, input_variables
from ..grid import CellIndex
from ..gtfree_metrics import CATEGORIES, GTFREE_METRICS, gtfree_metric_names
from ..methods import METHODS
from ..registry import own_keyword_hint, take_alias
from ..scoring import score
from ..scoring.truth import per_variable
from ..training import Ensemble, Model
from .gtfree import evaluate

__all__ = ["TRUST_RULE", "VERDICTS", "verdict", "DEFAULT_AUDIT_METHODS", "audit", "category_skill_table", "ladder_maps",
           "trust_table"]

#: methods the audit ranks by default: one input baseline each, cheap and diverse
DEFAULT_AUDIT_METHODS = ("integrated_gradients", "input_x_gradient", "gradient", "smoothgrad",
                         "occlusion", "lrp_z")
METRIC_DIM = "gtfree_metric"
_LADDER = (0.0, 0.25, 0.5, 0.75, 1.0)


def ladder_maps(bench: xr.Dataset, lambdas: tuple[float, ...] = _LADDER, seed: int = 0
                ) -> xr.DataArray | xr.Dataset:
    """Maps made from the truth: ``truth_mix_<λ>`` = (1 − λ)T + λε (ε the truth of the next
    sample, cyclically), ``truth_shuffled``, ``truth_negated``, ``truth_smoothed``, ``input``,
    ``random`` (white noise with the truth's per-sample scale) and ``constant``.

    A benchmark of several variables gets ``attribution_<v>`` for each (as ``attribute``
    writes them): the maps are made of the joint truth, every variable's cells together
    (shuffled across all of them, smoothed within each variable)."""
    names = input_variables(bench)
    truths = [bench[f"truth_{v}"] for v in names] if names else [bench["truth"]]
    inputs = [bench[v] for v in names] if names else [bench["x"]]
    t = truths[0].transpose("sample", ...)
    nv = len(truths)
    mask = bench["mask"].astype(bool)
    # (n, V, ny, nx): the variables stacked; one variable is V = 1
    tv = np.stack([np.asarray(v.transpose("sample", ...).values, float) for v in truths], 1)
    n = tv.shape[0]
    cells = CellIndex.from_mask(mask)
    size = cells.shape[0] * cells.shape[1]
    flat = np.concatenate([cells.flat + v * size for v in range(nv)])
    other = np.roll(tv, -1, axis=0)
    maps, labels = [], []
    for lam in lambdas:
        maps.append((1 - lam) * tv + lam * other)
        labels.append(f"truth_mix_{lam:g}")
    rng = np.random.default_rng(seed)
    shuffled = tv.reshape(n, -1).copy()
    for i in range(n):
        shuffled[i, flat] = shuffled[i, flat[rng.permutation(flat.size)]]
    maps.append(shuffled.reshape(tv.shape))
    labels.append("truth_shuffled")
    maps.append(-tv)
    labels.append("truth_negated")
    nb = cells.neighbours(nv)
    tc = tv.reshape(n, -1)[:, flat]
    has = nb >= 0
    smooth = (tc + (tc[:, np.clip(nb, 0, None)] * has).sum(-1)) / (1 + has.sum(1))
    sm = np.full(tv.reshape(n, -1).shape, np.nan)
    sm[:, flat] = smooth
    maps.append(sm.reshape(tv.shape))
    labels.append("truth_smoothed")
    maps.append(np.stack([np.asarray(v.transpose("sample", ...).values, float)
                          for v in inputs], 1))
    labels.append("input")
    scale = np.nanstd(tv.reshape(n, -1), axis=1)[:, None, None, None]
    noise = rng.standard_normal(tv.shape) * scale
    maps.append(np.where(np.isnan(tv), np.nan, noise))
    labels.append("random")
    maps.append(np.where(np.isnan(tv), np.nan, 1.0))
    labels.append("constant")
    every = np.stack(maps)  # (method, sample, V, ny, nx)
    coords = {METHOD_DIM: labels, **{c: t[c] for c in t.coords}}

    def one(v: int) -> xr.DataArray:
        return xr.DataArray(every[:, :, v], dims=(METHOD_DIM, *t.dims), coords=coords,
                            name="attribution", attrs={"baseline": "zero"})

    if not names:
        return one(0)
    return per_variable({v: one(i) for i, v in enumerate(names)})


#: The rule of trust (docs/audit.md, "The rule"): a GT-free metric is **trusted** when the
#: lower 95 % bound of its rank agreement τ with the truth is at least TRUST_TAU *and* the
#: truth itself scores best of the corruption ladder in at least TRUST_TRUTH_FIRST of the
#: samples; **misleading** when τ's upper 95 % bound is below 0 (it ranks methods against
#: their fidelity); **uninformative** otherwise. τ ≥ 0.3 among six methods means that,
#: of any two methods, the metric orders them as the truth does about two times in three
#: (P(concordant) = (1 + τ)/2 = 0.65); the truth coming first in most samples rules out
#: metrics that rank methods by a property (smoothness, concentration) that happens to
#: correlate with fidelity in one regime. The thresholds were chosen on the validation in
#: docs/advise.md (benchmarks/advise.py).
TRUST_TAU = 0.3
TRUST_TRUTH_FIRST = 0.5
VERDICTS = ("trusted", "uninformative", "misleading")
TRUST_RULE = (f"trusted: lower 95 % bound of rank agreement tau >= {TRUST_TAU} and the truth "
              f"scores best of the ladder in >= {TRUST_TRUTH_FIRST:.0%} of samples; misleading: "
              "upper 95 % bound of tau < 0; uninformative: otherwise")


def verdict(low: float, high: float, truth_first: float) -> str:
    """The rule of trust for one metric (:data:`TRUST_RULE`).

    >>> verdict(0.46, 0.53, 0.98), verdict(0.44, 0.60, 0.17), verdict(-0.58, -0.44, 0.0)
    ('trusted', 'uninformative', 'misleading')
    """
    if math.isfinite(high) and high < 0:
        return "misleading"
    if math.isfinite(low) and low >= TRUST_TAU and math.isfinite(truth_first) \
            and truth_first >= TRUST_TRUTH_FIRST:
        return "trusted"
    return "uninformative"


#: skill scores are left out (NaN) when the random reference lies within this fraction of
#: the metric's unit scale of its ideal value
SKILL_GAP = 0.1
#: the ladder's maps that the robustness and randomisation metrics re-run (by
#: :func:`reference_explainers`): the truth itself and a random explanation
RERUN_REFERENCES = ("truth_mix_0", "random")


def reference_explainers(bench: xr.Dataset, model: Model) -> dict[str, Any]:
    """Explainers for the audit's two reference maps, so the metrics that re-run a method
    (robustness, randomisation) can score them (:func:`evaluate`'s ``explainers=``):

    - ``truth_mix_0``: the benchmark's exact attribution of F at the input given, relative
      to the baseline given (the truth's own kind: for an interacting F, the Shapley
      value). It ignores the network — the truth explains F — so a randomisation metric
      scores it as the worst possible map: the point of Binder et al. (2023);
    - ``random``: white noise drawn from the input's and the network's own bytes: a new map
      whenever either changes, as a method that knows nothing would give (Bommer et al.
      2024's random reference).
    """
    import weakref
    import zlib

    import torch


    gen = generator_from_dataset(bench)
    prints: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    def fingerprint(net: Any) -> int:
        if net not in prints:
            crc = 0
            for p in net.parameters():
                crc = zlib.crc32(p.detach().cpu().numpy().tobytes(), crc)
            prints[net] = crc
        return prints[net]

    own = model.network(private=False)

    def truth(x: Any, base: Any, net: Any = None) -> Any:
        xn = x.detach().cpu().double().numpy()
        bn = base.detach().cpu().double().numpy()
        if gen.response.additive:
            t = gen.contributions(xn) - gen.contributions(bn)
        else:
            _, t, _ = gen.truths(xn, bn)
        return torch.as_tensor(np.asarray(t, np.float32))

    def random(x: Any, base: Any, net: Any = None) -> Any:
        key = fingerprint(own if net is None else net)
        rows = x.detach().cpu().numpy()
        out = np.stack([np.random.default_rng([key, zlib.crc32(r.tobytes())])
                        .standard_normal(rows.shape[1]) for r in rows])
        return torch.as_tensor(out.astype(np.float32))

    return {"truth_mix_0": truth, "random": random}


def reference_maps(test: xr.Dataset, model: Model, explainers: dict[str, Any]
                   ) -> xr.DataArray | xr.Dataset:
    """The two reference maps at the test inputs, from their explainers with the zero
    baseline (what :func:`evaluate` then perturbs and re-runs)."""
    import torch

    from ..attribution.engine import as_input_dataset

    cells, names = model.cells, list(model.variables)
    x = model._stack(as_input_dataset(test, model, None)).transpose("sample", "cell")
    xt = torch.as_tensor(np.asarray(x.values, np.float32))
    zero = torch.zeros_like(xt)
    maps = np.stack([np.asarray(explainers[k](xt, zero), float)
                     for k in RERUN_REFERENCES])  # (2, n, C·d)
    d = cells.n_cells

    def one(v: int) -> xr.DataArray:
        da = xr.DataArray(maps[..., v * d:(v + 1) * d], dims=(METHOD_DIM, "sample", "cell"),
                          coords={METHOD_DIM: list(RERUN_REFERENCES),
                                  "sample": test["sample"].values})
        return cells.unstack(da).rename("attribution").assign_attrs(baseline="zero")

    if len(names) == 1:
        return one(0)
    return per_variable({v: one(i) for i, v in enumerate(names)})


def _nanmean(v: Any, axis: int | None = None) -> Any:
    """The mean over finite values; NaN (silently) where there are none."""
    v = np.asarray(v, float)
    ok = np.isfinite(v)
    total = np.where(ok, v, 0.0).sum(axis)
    count = ok.sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _oriented(q: xr.DataArray, name: str) -> xr.DataArray:
    return q if GTFREE_METRICS.get(name).higher_is_better else -q


def _kendall_rows(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Kendall τ between two ``(methods, samples)`` arrays, per sample (NaN-safe)."""
    from scipy.stats import kendalltau

    out = np.full(q.shape[1], np.nan)
    for i in range(q.shape[1]):
        ok = np.isfinite(q[:, i]) & np.isfinite(r[:, i])
        if ok.sum() >= 3:
            out[i] = kendalltau(q[ok, i], r[ok, i]).statistic
    return out


def _mean_ci(v: np.ndarray, seed: int, n_boot: int = 1000) -> tuple[float, float, float]:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (math.nan,) * 3
    if v.size == 1 or np.ptp(v) == 0:
        return float(v.mean()), float(v.mean()), float(v.mean())
    from scipy.stats import bootstrap

    res = bootstrap((v,), np.mean, n_resamples=n_boot, random_state=seed,
                    method="percentile")
    return float(v.mean()), float(res.confidence_interval.low), \
        float(res.confidence_interval.high)


def _spearman_lambda(q: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """Per sample (columns), Spearman ρ of ``q`` (λ, samples) with λ."""
    from scipy.stats import spearmanr

    out = np.full(q.shape[1], np.nan)
    for i in range(q.shape[1]):
        col = q[:, i]
        if np.all(np.isfinite(col)) and np.ptp(col) > 0:
            out[i] = spearmanr(col, lambdas).statistic
    return out


def audit(
    bench: xr.Dataset,
    model: Model | Ensemble,
    methods: list[str] | tuple[str, ...] | None = None,
    metrics: list[str] | tuple[str, ...] | None = None,
    n_samples: int = 100,
    seeds: int = 3,
    ladder: tuple[float, ...] = _LADDER,
    seed: int = 0,
    device: Any = None,
    progress: bool = False,
    heat: xr.Dataset | None = None,
    **params: Any,
) -> xr.Dataset:
    """Audit GT-free metrics against the exact truth of a benchmark.

    Parameters
    ----------
    bench : Dataset
        A benchmark (``x``, ``truth``, ``mask``); its last ``n_samples`` samples are used.
    model : Model or Ensemble
        A trained network, or ``Model.exact(bench)`` (the methods' own errors only). An
        :class:`~xattrib.Ensemble` is audited member by member: every result gains a
        ``member`` dimension and the trust table has one block per member.
    methods : list of str, optional
        At least three registered methods (default :data:`DEFAULT_AUDIT_METHODS`).
    metrics : list of str, optional
        GT-free metrics (default: all of :data:`xattrib.gtfree_metrics.GTFREE_METRICS`).
    n_samples : int
        Samples audited (the benchmark's last).
    seeds : int
        Seeds of the noise floor (each re-evaluates every metric).
    ladder : tuple of float
        The λ of the truth-corruption ladder (starting at 0: the truth itself).
    heat : Dataset, optional
        Heatmaps already computed on the benchmark's samples (``attribute``'s output over the
        same samples as ``bench``, or its last ``n_samples``): used instead of re-attributing;
        ``methods`` then defaults to its methods.
    **params
        Metric parameters, as for :func:`xattrib.evaluate`.

    Returns
    -------
    Dataset
        ``rank_agreement`` (+ ``_low``/``_high``), ``ladder_monotonicity``, ``truth_first``,
        ``noise_floor`` over ``gtfree_metric``; ``value`` and ``skill`` over
        (``gtfree_metric``, ``xai_method``); ``fidelity`` over ``xai_method``;
        ``truth_value`` and ``truth_skill`` over ``gtfree_metric``. The trust table is in
        ``attrs["trust_table"]`` (markdown).
    """
    methods = take_alias(params, "method", "methods", methods, None)
    metrics = take_alias(params, "metric", "metrics", metrics, None)
    own_keyword_hint(audit, params, known=lambda k: k in GTFREE_METRICS)
    if isinstance(model, Ensemble):  # each member audited, along ``member``
        return _audit_members(bench, model, heat, params, methods=methods, metrics=metrics,
                              n_samples=n_samples, seeds=seeds, ladder=ladder, seed=seed,
                              device=device, progress=progress)
    if not isinstance(model, Model):
        raise TypeError(f"model must be an xattrib Model (xattrib.fit, Model.exact, "
                        f"Model.from_module) or an Ensemble, got {type(model).__name__}")
    names, chosen = _audited(metrics, methods, heat, model)
    test = _audit_samples(bench, n_samples)
    heat = _audit_heat(heat, test, model, chosen, progress, seed, device)
    runs, ql = _evaluations(heat, model, test, names, len(chosen), int(seeds), ladder, seed,
                            device, progress, params)
    out = _trust(names, chosen, runs, ql, _fidelity(heat, test), ladder, seed)
    out.attrs.update({
        "title": "xattrib audit of GT-free metrics against the truth",
        "n_samples": test.sizes["sample"], "seeds": int(seeds),
        "model_arch": model.arch, **({"model_r2": float(model.r2)} if model.r2 is not None
                                     and math.isfinite(model.r2) else {}),
        "ladder": ", ".join(f"{lam:g}" for lam in ladder),
        "metric_parameters": "; ".join(
            f"{k}: " + ", ".join(f"{a}={b}" for a, b in v.items()) for k, v in params.items()
            if isinstance(v, dict) and v) or "each metric's defaults",
        **{k: v for k, v in bench.attrs.items() if k.startswith("xattrib_")}})
    out.attrs["trust_table"] = trust_table(out)
    return out


def _audit_members(bench: xr.Dataset, model: Ensemble, heat: Any, params: dict[str, Any],
                   **kw: Any) -> xr.Dataset:
    """Each member audited with its own maps, along ``member``; one table per member."""
    out, parts = per_member(model, lambda m, h: audit(bench, m, heat=h, **kw, **params),
                            heat)
    out.attrs["trust_table"] = "\n\n".join(
        f"Member {s}:\n\n{p.attrs['trust_table']}"
        for s, p in zip(model.seeds, parts, strict=True))
    out.attrs.pop("model_r2", None)  # one per member: each table says its own
    return out


def _audited(metrics: Any, methods: Any, heat: Any, model: Model) -> tuple[list[str],
                                                                           list[str]]:
    """(metrics, methods) of the audit: the metrics by category, at least three methods."""
    names = gtfree_metric_names(metrics, model.outputs)
    names.sort(key=lambda nm: CATEGORIES.index(GTFREE_METRICS.get(nm).category))  # stable: by category
    if methods is None and heat is not None:
        methods = [str(m) for m in heat[METHOD_DIM].values]
    chosen = method_names(methods or DEFAULT_AUDIT_METHODS)
    if len(chosen) < 3:
        raise ValueError(f"methods must name at least 3 methods to rank, got {chosen}")
    for m in chosen:
        METHODS.get(m)
    return names, chosen


def _audit_samples(bench: Any, n_samples: Any) -> xr.Dataset:
    """The benchmark's last ``n_samples`` samples (at most all of them), in memory."""
    if not isinstance(bench, xr.Dataset) or not (
            {"truth", "x"} <= set(bench.data_vars) or input_variables(bench)):
        raise ValueError("audit needs a benchmark Dataset (x, truth, mask): the truth is what "
                         "the metrics are audited against")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
        raise TypeError(f"n_samples must be a whole number of samples, got {n_samples!r}")
    n = int(min(n_samples, bench.sizes["sample"]))  # at most the benchmark's (recorded)
    if n < 2:
        raise ValueError(f"the audit needs at least 2 samples: n_samples={n_samples} of the "
                         f"benchmark's {bench.sizes['sample']} leaves {n}")
    return bench.isel(sample=slice(-n, None)).compute()


def _audit_heat(heat: Any, test: xr.Dataset, model: Model, chosen: list[str], progress: bool,
                seed: int, device: Any) -> xr.Dataset:
    """The audited methods' maps of the audited samples: made, or taken from ``heat``."""
    n = test.sizes["sample"]
    if heat is None:
        heat = attribute(test, model, methods=chosen, progress=progress, seed=seed,
                         device=device)
    else:
        heat = heat.sel({METHOD_DIM: chosen}).isel(sample=slice(-n, None))
        if not np.array_equal(heat["sample"].values, test["sample"].values):
            raise ValueError("heat must cover the benchmark's last n_samples samples "
                             f"({n}); pass heat over the same samples as bench")
    return heat.compute()


def _fidelity(heat: xr.Dataset, test: xr.Dataset) -> xr.DataArray:
    """Each method's Pearson r with the truth per sample (several variables: all cells)."""
    fid = score(heat, test, metrics=["pearson"])["pearson"]
    if INPUT_VARIABLE_DIM in fid.dims:  # several variables: fidelity over all their cells
        fid = fid.sel({INPUT_VARIABLE_DIM: "all"}, drop=True)
    return fid.compute()


def _evaluations(heat: xr.Dataset, model: Model, test: xr.Dataset, names: list[str],
                 n_methods: int, seeds: int, ladder: tuple[float, ...], seed: int,
                 device: Any, progress: bool, params: dict[str, Any]
                 ) -> tuple[list[xr.Dataset], xr.Dataset]:
    """(the metrics of the methods' maps at each noise-floor seed, the metrics of the
    truth-corruption ladder), step by step under one progress bar."""
    rerun = [nm for nm in names if GTFREE_METRICS.get(nm).needs == "method"]
    bar = tqdm(total=seeds + 1 + bool(rerun), unit="step", disable=not progress,
               desc=f"audit: {len(names)} metrics x {n_methods} methods")
    runs = []
    for s in range(seeds):
        bar.set_description(f"audit: {len(names)} metrics x {n_methods} methods, "
                            f"noise-floor seed {s + 1}/{seeds}")
        runs.append(evaluate(heat, model, test, metrics=names, seed=seed + s, device=device,
                             **params).compute())
        bar.update()
    bar.set_description(f"audit: the truth-corruption ladder ({len(ladder)} maps)")
    lad = ladder_maps(test, tuple(ladder), seed=seed)
    # the ladder's maps are hand-made: metrics that re-run a method cannot score them
    on_maps = [nm for nm in names if GTFREE_METRICS.get(nm).needs != "method"]
    ql = evaluate(lad, model, test, metrics=on_maps, seed=seed, device=device,
                  **{k: v for k, v in params.items() if k in on_maps}).compute() \
        if on_maps else xr.Dataset()
    for nm in names:
        if nm not in ql:
            ql[nm] = xr.DataArray(np.full((lad.sizes[METHOD_DIM], test.sizes["sample"]),
                                          np.nan), dims=(METHOD_DIM, "sample"),
                                  coords={METHOD_DIM: lad[METHOD_DIM].values})
    bar.update()
    # the metrics that re-run a method score the truth and a random map through explainers
    # that re-make them (the rest of the ladder stays hand-made: NaN for those metrics)
    if rerun:
        bar.set_description(f"audit: {len(rerun)} metrics re-making the truth and a random "
                            "map")
        ex = reference_explainers(test, model)
        qr = evaluate(reference_maps(test, model, ex), model, test, metrics=rerun, seed=seed,
                      device=device, baseline="zero", explainers=ex,
                      **{k: v for k, v in params.items() if k in rerun}).compute()
        for nm in rerun:
            filled = ql[nm].copy()
            filled.loc[{METHOD_DIM: list(RERUN_REFERENCES)}] = qr[nm].transpose(
                METHOD_DIM, "sample").values
            ql[nm] = filled
        bar.update()
    bar.close()
    return runs, ql


def _trust(names: list[str], chosen: list[str], runs: list[xr.Dataset], ql: xr.Dataset,
           fid: xr.DataArray, ladder: tuple[float, ...], seed: int) -> xr.Dataset:
    """Each metric against the truth: rank agreement, ladder, truth first, noise floor,
    values and skill per method, and what it picks."""
    q = runs[0]
    lambdas = np.asarray(ladder, float)
    mix = [f"truth_mix_{lam:g}" for lam in ladder]
    rows: dict[str, list[Any]] = {k: [] for k in (
        "rank_agreement", "rank_agreement_low", "rank_agreement_high", "ladder_monotonicity",
        "truth_first", "noise_floor", "truth_value", "truth_skill", "picks")}
    value = np.full((len(names), len(chosen)), np.nan)
    skill = np.full_like(value, np.nan)
    r = np.asarray(fid.transpose(METHOD_DIM, "sample").values, float)
    for k, name in enumerate(names):
        probe = GTFREE_METRICS.get(name)
        qo = np.asarray(_oriented(q[name], name).transpose(METHOD_DIM, "sample").values, float)
        mean, lo, hi = _mean_ci(_kendall_rows(qo, r), seed)
        rows["rank_agreement"].append(mean)
        rows["rank_agreement_low"].append(lo)
        rows["rank_agreement_high"].append(hi)
        lq = np.asarray(_oriented(ql[name], name).sel({METHOD_DIM: mix}).values, float)
        rows["ladder_monotonicity"].append(float(_nanmean(-_spearman_lambda(lq, lambdas)))
                                           if np.isfinite(lq).any() else math.nan)
        allq = np.asarray(_oriented(ql[name], name).values, float)
        # a map the metric cannot score (NaN, e.g. a constant map's correlation) ranks last
        first = np.where(np.isfinite(allq[0]),
                         np.argmax(np.where(np.isfinite(allq), allq, -np.inf), 0) == 0, np.nan)
        rows["truth_first"].append(float(_nanmean(first)) if np.isfinite(first).any()
                                   else math.nan)
        stack = np.stack([np.asarray(run[name].values, float) for run in runs])
        rows["noise_floor"].append(float(_nanmean(stack.std(0))) if len(runs) > 1
                                   else math.nan)
        raw = np.asarray(q[name].transpose(METHOD_DIM, "sample").values, float)
        value[k] = _nanmean(raw, 1) if np.isfinite(raw).any() else np.nan
        q_rand = float(_nanmean(ql[name].sel({METHOD_DIM: "random"}).values))
        q_true = float(_nanmean(ql[name].sel({METHOD_DIM: "truth_mix_0"}).values))
        rows["truth_value"].append(q_true)
        # a skill score needs a random reference clearly worse than the ideal: MPRT's two
        # unrelated random maps already have Spearman ≈ 0, its ideal, and dividing by that
        # gap would blow noise up into huge negative skills (Binder et al. 2023's point)
        # and an ideal no map can beat (else "skill" could exceed 1: not a skill score)
        if probe.ideal_is_bound and math.isfinite(probe.ideal) and math.isfinite(q_rand) and \
                abs(probe.ideal - q_rand) >= SKILL_GAP * max(1.0, abs(probe.ideal)):
            skill[k] = (value[k] - q_rand) / (probe.ideal - q_rand)
            rows["truth_skill"].append((q_true - q_rand) / (probe.ideal - q_rand))
        else:
            rows["truth_skill"].append(math.nan)
        best = np.nanargmax(_nanmean(qo, 1)) if np.isfinite(qo).any() else None
        rows["picks"].append(chosen[best] if best is not None else "none")
    out = xr.Dataset(
        {k: (METRIC_DIM, np.asarray(v, object if k == "picks" else float))
         for k, v in rows.items()},
        coords={METRIC_DIM: names, METHOD_DIM: chosen,
                "category": (METRIC_DIM, [GTFREE_METRICS.get(nm).category for nm in names])})
    out["picks"] = out["picks"].astype(str)
    out["value"] = ((METRIC_DIM, METHOD_DIM), value)
    out["skill"] = ((METRIC_DIM, METHOD_DIM), skill)
    out["fidelity"] = (METHOD_DIM, _nanmean(r, 1))
    out["verdict"] = (METRIC_DIM, np.asarray(
        [verdict(lo, hi, tf) for lo, hi, tf in zip(rows["rank_agreement_low"],
                                                   rows["rank_agreement_high"],
                                                   rows["truth_first"], strict=True)], str))
    out.attrs["truth_picks"] = chosen[int(np.nanargmax(_nanmean(r, 1)))]
    out.attrs["trust_rule"] = TRUST_RULE
    _describe(out)
    return out


def _describe(out: xr.Dataset) -> None:
    text = {
        "rank_agreement": "mean over samples of Kendall tau between methods ranked by the "
                          "metric and by their fidelity (weighted Pearson r) to the truth",
        "rank_agreement_low": "bootstrap 2.5 % quantile of rank_agreement",
        "rank_agreement_high": "bootstrap 97.5 % quantile of rank_agreement",
        "ladder_monotonicity": "mean Spearman rho of the metric with the corruption lambda of "
                               "the truth, signed so that 1 is good",
        "truth_first": "fraction of samples in which the truth scores best of the ladder",
        "noise_floor": "mean standard deviation of the metric over its own random seeds",
        "truth_value": "the metric of the truth itself (mean over samples)",
        "truth_skill": "skill score of the truth against a white-noise map",
        "picks": "the method the metric ranks best (mean over samples)",
        "value": "the metric per method (mean over samples)",
        "skill": "skill score against a white-noise map: (Q - Q_random) / (Q_ideal - Q_random)",
        "fidelity": "area-weighted Pearson r with the truth (mean over samples)",
        "verdict": "trusted, uninformative or misleading, by the rule in attrs['trust_rule']",
    }
    for k, v in text.items():
        out[k].attrs.update(long_name=v, **({} if k in ("picks", "verdict") else {"units": "1"}))


def _fmt(v: Any, digits: int = 2) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "–" if not math.isfinite(f) else f"{f:.{digits}f}"


def trust_table(result: xr.Dataset) -> str:
    """The audit as one markdown table: each metric, its agreement with the truth, ladder
    score, noise floor, and the method it picks next to the truth's pick."""
    truth = result.attrs.get("truth_picks", "?")
    lines = [f"Audit on {result.attrs.get('n_samples')} samples, model "
             f"{result.attrs.get('model_arch')}"
             + (f" (R² {result.attrs['model_r2']:.3f})" if "model_r2" in result.attrs else "")
             + f"; the truth picks **{truth}**. Settings: {result.attrs.get('seeds')} seeds "
             f"of the noise floor, ladder λ = {result.attrs.get('ladder')}; metric "
             f"parameters: {result.attrs.get('metric_parameters', 'defaults')}.", "",
             "| metric | category | rank agreement τ [95 % CI] | ladder | truth first | "
             "noise floor | picks | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for name in result[METRIC_DIM].values:
        row = result.sel({METRIC_DIM: name})
        pick = str(row["picks"].values)
        said = str(row["verdict"].values) if "verdict" in row else "–"
        # a metric's pick counts only when the rule trusts it: ✓ marks the trusted metrics
        pick = pick if said == "trusted" else f"({pick})"
        lines.append(
            f"| {name} | {row['category'].values} | {_fmt(row['rank_agreement'])} "
            f"[{_fmt(row['rank_agreement_low'])}, {_fmt(row['rank_agreement_high'])}] | "
            f"{_fmt(row['ladder_monotonicity'])} | {_fmt(row['truth_first'])} | "
            f"{_fmt(row['noise_floor'], 3)} | {pick} | "
            f"{said}{' ✓' if said == 'trusted' else ''} |")
    lines += ["", f"Rule: {result.attrs.get('trust_rule', TRUST_RULE)}. A pick in brackets "
              "is not evidence: the rule does not trust that metric."]
    return "\n".join(lines) + "\n"


def category_skill_table(result: xr.Dataset) -> str:
    """Methods × metric categories, each cell the mean skill score (against a white-noise map)
    of the category's metrics that have one — Bommer et al. (2024)'s table in shape — with
    each method's fidelity to the truth (Pearson r) beside it."""
    cats = [f for f in dict.fromkeys(str(v) for v in result["category"].values)]
    lines = ["| method | " + " | ".join(cats) + " | Pearson r with the truth |",
             "|---|" + "---|" * (len(cats) + 1)]
    for m in result[METHOD_DIM].values:
        cells = []
        for f in cats:
            sel = result["skill"].sel({METHOD_DIM: m}).where(result["category"] == f)
            cells.append(_fmt(_nanmean(sel.values)))
        lines.append(f"| {m} | " + " | ".join(cells)
                     + f" | {_fmt(result['fidelity'].sel({METHOD_DIM: m}))} |")
    return "\n".join(lines) + "\n"
