"""``advise()``: which attribution method to believe for *your* network on *your* data, and
which GT-free metric can check it (Mamalakis et al. 2022's question, answered in one verb).

The answer is measured, not assumed, in five steps that reuse the package's verbs:

1. benchmarks shaped like the data — the same grid, mask and variables the network reads,
   the covariance estimated from the data — for several response families (the true
   function is unknown, so the verdict's dependence on it is measured);
2. surrogate networks of the user's architecture (re-initialised from its registry name,
   its factory, or its saved file's factory), trained on as many samples as the user had:
   the data-limited regime is theirs;
3. every method scored against the exact truth on the surrogates (mean Pearson r with a
   bootstrap interval over samples and members), beside each method's own error on the
   exact F and the members' bias²/variance split;
4. every GT-free metric audited in that regime (:func:`xattrib.audit`), with a verdict per
   metric by the rule of trust (:data:`xattrib.evaluation.TRUST_RULE`); a metric is
   trusted only when the rule trusts it under every response family;
5. on the user's network and data: heatmaps of every method, the trusted metrics evaluated
   on them, and whether their ranking agrees with the benchmark's (a disagreement is
   reported, never hidden).
"""

from __future__ import annotations

import inspect
import math
from typing import Any, NamedTuple

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from ..attribution import attribute
from ..dims import sample_dim_of
from ..evaluation import DEFAULT_AUDIT_METHODS, TRUST_RULE, audit, evaluate
from ..generation import benchmark
from ..gtfree_metrics import GTFREE_METRICS, gtfree_metric_names
from ..registry import own_keyword_hint
from ..responses import RESPONSES
from ..scoring import decompose_error, score
from ..training import Ensemble, Model, fit
from .surrogates import surrogate_builder

__all__ = ["Advice", "advise", "MIN_SAMPLES", "DEFAULT_RESPONSES"]

#: response families of the surrogate benchmarks: the original piecewise-linear one and a
#: smooth saturating one (the verdict must hold for both to count)
DEFAULT_RESPONSES = ("pwl", "tanh")
#: the fewest samples of data advise accepts: the covariance is estimated from them and the
#: surrogates trained on as many (the rule's intervals need at least a few dozen)
MIN_SAMPLES = 50
METHOD_DIM, METRIC_DIM = "xai_method", "gtfree_metric"


class Advice(NamedTuple):
    """What :func:`advise` returns: ``advice`` (the tables, the verdict in its attributes)
    and ``heatmaps`` (every method on the user's own network and data)."""

    advice: xr.Dataset
    heatmaps: xr.Dataset

    def report(self) -> str:
        """The advice as markdown, the verdict in plain words first."""
        from .report import advice_report

        return advice_report(self.advice)


def advise(
    model: Model | Ensemble,
    data: xr.Dataset | xr.DataArray,
    target: xr.DataArray | str | None = None,
    n_train: int | None = None,
    responses: tuple[str, ...] | list[str] = DEFAULT_RESPONSES,
    members: int = 2,
    methods: list[str] | tuple[str, ...] | None = None,
    metrics: list[str] | tuple[str, ...] | None = None,
    n_samples: int = 40,
    n_explain: int = 100,
    seeds: int = 2,
    seed: int = 0,
    factory: Any = None,
    device: Any = None,
    progress: bool = True,
    **fit_kwargs: Any,
) -> Advice:
    """Which attribution method to believe for this network on this data, and which GT-free
    metric can check it — measured on surrogate networks of the same architecture trained
    on benchmarks shaped like the data, whose truth is exact.

    Parameters
    ----------
    model : Model or Ensemble
        The user's network: ``Model.from_module`` (with ``factory=``, so fresh copies can be
        built), ``Model.load`` or ``fit``'s result. An Ensemble is explained as one (its
        members' architecture is the surrogates').
    data : Dataset or DataArray
        The inputs the network reads (its variables, on its grid): anomalies ``(sample,
        lat, lon)``. The covariance of the benchmarks is estimated from them.
    target : DataArray or str, optional
        What the network predicts, one value per sample of ``data`` (or the name of that
        variable in ``data``): then the network's own R² is reported beside the
        surrogates'.
    n_train : int, optional
        Samples the surrogates are trained on (default: the samples of ``data``, the
        user's own regime).
    responses : list of str
        Response families of the benchmarks (at least one; the default two measure how much
        the verdict depends on the unknown true function).
    members : int
        Surrogate networks per family (different seeds; at least 2 for the bias²/variance
        split).
    methods : list of str, optional
        Attribution methods compared (default: the audit's six).
    metrics : list of str, optional
        GT-free metrics audited (default: all that apply).
    n_samples : int
        Held-out benchmark samples scored and audited per family.
    n_explain : int
        Samples of ``data`` (the last) explained on the user's network.
    seeds : int
        Seeds of the audit's noise floor.
    seed : int
        Seeds the benchmarks, the surrogates and every random draw.
    factory : callable, optional
        Builds a fresh copy of a user's module (as ``Model.from_module(factory=...)``), when
        the model does not carry one.
    **fit_kwargs
        Training settings of the surrogates (``epochs``, ``batch_size``, ``lr``…; default
        fit's recipe for data of their own).

    Returns
    -------
    Advice
        ``advice``: ``fidelity`` (+ ``_low``/``_high``) over (``response``, ``xai_method``),
        ``pooled_fidelity`` over ``xai_method``, ``exact_fidelity``, ``bias2``,
        ``variance``, the audit's ``rank_agreement``/``truth_first`` and the ``verdict``
        of each GT-free metric, ``surrogate_r2``, and on the user's network ``real_value``
        and ``real_rank_agreement``; attributes ``recommended_method``,
        ``trusted_metrics``, ``trust_rule``, ``verdict``. ``heatmaps``: every method on the
        user's data.

    Examples
    --------
    >>> import xattrib
    >>> sst = xattrib.datasets.pacific_sst()
    >>> mine = xattrib.fit(xattrib.benchmark(sst, n_samples=400, seed=5, response="linear"),
    ...                    hidden=(8,), epochs=2, fresh=False, progress=False)
    >>> adv = xattrib.advise(mine, sst, n_train=200, members=2, responses=["pwl"],
    ...                      methods=["gradient", "input_x_gradient", "integrated_gradients"],
    ...                      metrics=["faithfulness_correlation", "sparseness"],
    ...                      n_samples=12, n_explain=8, seeds=1, epochs=2, progress=False)
    >>> adv.advice.attrs["recommended_method"] in adv.advice["xai_method"].values
    True
    """
    own_keyword_hint(advise, fit_kwargs, known=_fit_keyword)
    if not isinstance(model, Model | Ensemble):
        raise TypeError(f"model must be an xattrib Model (Model.from_module, Model.load, fit) "
                        f"or an Ensemble, got {type(model).__name__}")
    inputs, sdim = _inputs(model, data)
    n = inputs.sizes[sdim]
    y = _target(target, data, sdim, n)
    n_train = _count(n_train, n, "n_train")
    members, n_samples, n_explain = (_count(members, 2, "members", least=2),
                                     _count(n_samples, 12, "n_samples", least=6),
                                     _count(n_explain, 1, "n_explain", least=1))
    responses = _responses(responses)
    methods, skipped = _methods(methods, model, inputs, sdim, device)
    metrics = gtfree_metric_names(metrics, ["y"])
    build = surrogate_builder(model.members[0] if isinstance(model, Ensemble) else model,
                              factory)
    steps = tqdm(total=len(responses) * 4 + 2, desc="advise", unit="step", leave=False,
                 disable=not progress)
    per = [_on_benchmark(r, i, inputs, sdim, build, n_train, members, methods, metrics,
                         n_samples, seeds, seed, device, fit_kwargs, steps)
           for i, r in enumerate(responses)]
    out = _tables(per, responses, methods, metrics, seed)
    steps.set_postfix_str("your network")
    heat, real = _on_user_network(model, inputs, sdim, out, methods, n_explain, seed, device)
    steps.update(1)
    out = xr.merge([out, real], combine_attrs="override")
    _conclude(out, model, inputs, y, sdim, n, n_train)
    out.attrs["skipped_methods"] = "; ".join(f"{m}: {why}" for m, why in skipped.items()) \
        or "none"
    steps.update(1)
    steps.close()
    return Advice(out, heat)


def _methods(methods: Any, model: Model | Ensemble, inputs: xr.Dataset, sdim: str,
             device: Any) -> tuple[list[str], dict[str, str]]:
    """The methods compared: those named, or the defaults that run on this network (tried on
    two samples of the data: LRP has no rule for every layer), the others with the reason,
    which the advice records."""
    if methods is not None:
        if isinstance(methods, str) or len(list(methods)) < 3:
            raise ValueError(f"methods: advise ranks at least three methods, got {methods!r}")
        return list(methods), {}
    two = inputs.isel({sdim: slice(0, 2)})
    ok, skipped = [], {}
    for m in DEFAULT_AUDIT_METHODS:
        try:
            attribute(two, model, methods=[m], device=device, progress=False).compute()
            ok.append(m)
        except (TypeError, ValueError, RuntimeError) as err:
            skipped[m] = " ".join(str(err).split())[:200]
    if len(ok) < 3:
        raise ValueError(f"methods: fewer than three of the default methods run on this "
                         f"network ({skipped}); name at least three that do")
    return ok, skipped


def _fit_keyword(name: str) -> bool:
    return name in inspect.signature(fit).parameters


def _count(v: Any, default: int, name: str, least: int = 1) -> int:
    v = default if v is None else v
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < least:
        raise ValueError(f"{name} must be an integer of at least {least}, got {v!r}")
    return int(v)


def _responses(responses: Any) -> list[str]:
    names = [responses] if isinstance(responses, str) else list(responses)
    if not names:
        raise ValueError("responses is empty; name at least one family, e.g. "
                         f"responses={list(DEFAULT_RESPONSES)} (xattrib list responses)")
    for r in names:
        RESPONSES.get(r)  # unknown: the valid ones and the closest
        if not RESPONSES[r].additive:
            raise ValueError(f"responses: {r!r} is not additive; advise compares methods "
                             "against per-cell truths (pwl, linear, tanh)")
    return names


def _inputs(model: Model | Ensemble, data: Any) -> tuple[xr.Dataset, str]:
    """The variables the network reads, as a Dataset, checked against its grid."""
    one = model.members[0] if isinstance(model, Ensemble) else model
    if isinstance(data, xr.DataArray):
        if len(one.variables) != 1:
            raise ValueError(f"data: the network reads {list(one.variables)}; pass a Dataset "
                             "with those variables")
        data = data.to_dataset(name=one.variables[0])
    if not isinstance(data, xr.Dataset):
        raise TypeError(f"data must be an xarray Dataset or DataArray of the network's "
                        f"inputs, got {type(data).__name__}")
    missing = [v for v in one.variables if v not in data]
    if missing:
        raise ValueError(f"data has no variable {missing} that the network reads "
                         f"(it reads {list(one.variables)}; data has {list(data.data_vars)})")
    inputs = data[list(one.variables)]
    sdim = sample_dim_of(inputs[one.variables[0]], what="data")
    for v in one.variables:
        sc = one.cells.check_grid(inputs[v], f"data[{v!r}] (model and data on different grids)")
        mask = inputs[v].notnull().all(sdim).transpose(sc.lat, sc.lon)
        want = one.cells.mask.transpose(*one.cells.mask.dims)
        if mask.shape != want.shape or not np.array_equal(mask.values, want.values):
            raise ValueError(
                f"data: {v!r} is not on the network's grid (its valid cells differ from the "
                f"{one.cells.n_cells} the network reads): model and data on different grids; "
                "regrid the data, or pass the file the network was trained on")
    if inputs.sizes[sdim] < MIN_SAMPLES:
        raise ValueError(f"data has {inputs.sizes[sdim]} samples; advise needs at least "
                         f"{MIN_SAMPLES} (the covariance and the rule's intervals come from "
                         "them)")
    return inputs, sdim


def _target(target: Any, data: Any, sdim: str, n: int) -> xr.DataArray | None:
    if target is None:
        return None
    if isinstance(target, str):
        if not isinstance(data, xr.Dataset) or target not in data:
            raise ValueError(f"target {target!r} is not a variable of data")
        target = data[target]
    if not isinstance(target, xr.DataArray):
        raise TypeError(f"target must be a DataArray (one value per sample) or a variable "
                        f"name, got {type(target).__name__}")
    if target.dims != (sdim,) or target.sizes[sdim] != n:
        raise ValueError(f"target must have one value per sample of data: dims ({sdim!r},) of "
                         f"length {n}; got dims {target.dims} of shape {target.shape}")
    return target


def _on_benchmark(response: str, i: int, inputs: xr.Dataset, sdim: str, build: Any,
                  n_train: int, members: int, methods: list[str], metrics: list[str],
                  n_samples: int, seeds: int, seed: int, device: Any,
                  fit_kwargs: dict[str, Any], steps: Any) -> dict[str, Any]:
    """Steps 1–4 for one response family: benchmark, surrogates, scores, audit."""
    steps.set_postfix_str(f"{response}: benchmark")
    src = inputs if len(inputs.data_vars) > 1 else inputs[next(iter(inputs.data_vars))]
    bench = benchmark(src, n_samples=n_train + n_samples, seed=seed + 1000 * i,
                      response=response, sample_dim=sdim).compute()
    train, test = bench.isel(sample=slice(0, n_train)), bench.isel(sample=slice(n_train, None))
    steps.update(1)
    steps.set_postfix_str(f"{response}: {members} surrogates")
    ens = build(train, [seed + 1000 * i + k for k in range(members)], device=device,
                **fit_kwargs)
    nets = ens.members
    steps.update(1)
    steps.set_postfix_str(f"{response}: scores")
    heat = attribute(test, ens, methods=methods, seed=seed, device=device,
                     progress=False).compute()
    r = score(heat, test, metrics=["pearson"])["pearson"].compute()
    exact = attribute(test, Model.exact(test), methods=methods, seed=seed, device=device,
                      progress=False)
    r_exact = score(exact, test, metrics=["pearson"])["pearson"].mean("sample").compute()
    split = decompose_error(heat, test, summary=False).mean("sample").compute()
    steps.update(1)
    steps.set_postfix_str(f"{response}: audit")
    audited = audit(test, nets[0], methods=methods, metrics=metrics, n_samples=n_samples,
                    seeds=seeds, seed=seed, device=device,
                    heat=heat.isel(member=0, drop=True))
    steps.update(1)
    return {"r": r, "r_exact": r_exact, "split": split, "audit": audited,
            "r2": [float(m.r2) for m in nets]}


def _boot(v: np.ndarray, seed: int, n_boot: int = 1000) -> tuple[float, float, float]:
    """Mean and bootstrap 95 % interval of the finite values (percentile method)."""
    v = v[np.isfinite(v)]
    if v.size < 2:
        m = float(v.mean()) if v.size else math.nan
        return m, m, m
    from scipy.stats import bootstrap

    res = bootstrap((v,), np.mean, n_resamples=n_boot, random_state=seed, method="percentile")
    return float(v.mean()), float(res.confidence_interval.low), \
        float(res.confidence_interval.high)


def _tables(per: list[dict[str, Any]], responses: list[str], methods: list[str],
            metrics: list[str], seed: int) -> xr.Dataset:
    """Steps 3–4 as one Dataset: fidelity per family and pooled, the exact F's errors, the
    bias²/variance split, the audit's numbers and each metric's verdict."""
    from ..evaluation import verdict

    nr, nm = len(responses), len(methods)
    fid = np.full((3, nr, nm), np.nan)
    pooled = np.full((3, nm), np.nan)
    for j, m in enumerate(methods):
        for i, p in enumerate(per):
            fid[:, i, j] = _boot(np.asarray(p["r"].sel({METHOD_DIM: m}).values, float).ravel(),
                                 seed)
        pooled[:, j] = _boot(np.concatenate([np.asarray(p["r"].sel({METHOD_DIM: m}).values,
                                                        float).ravel() for p in per]), seed)
    out = xr.Dataset(coords={"response": responses, METHOD_DIM: methods, METRIC_DIM: metrics})
    for j, suffix in enumerate(("", "_low", "_high")):
        out[f"fidelity{suffix}"] = (("response", METHOD_DIM), fid[j])
        out[f"pooled_fidelity{suffix}"] = (METHOD_DIM, pooled[j])
    out["exact_fidelity"] = (("response", METHOD_DIM), np.stack(
        [p["r_exact"].sel({METHOD_DIM: methods}).values for p in per]))
    for part in ("bias2", "variance"):
        out[part] = (("response", METHOD_DIM), np.stack(
            [p["split"][part].sel({METHOD_DIM: methods}).values for p in per]))
    out = out.assign_coords(category=(METRIC_DIM, [GTFREE_METRICS.get(m).category
                                                   for m in metrics]))
    for name in ("rank_agreement", "rank_agreement_low", "rank_agreement_high", "truth_first",
                 "ladder_monotonicity"):
        out[name] = (("response", METRIC_DIM), np.stack(
            [p["audit"][name].sel({METRIC_DIM: metrics}).values for p in per]).astype(float))
    said = np.array([[verdict(*(float(out[k][i, j]) for k in (
        "rank_agreement_low", "rank_agreement_high", "truth_first")))
        for j in range(len(metrics))] for i in range(nr)])
    out["verdict_by_response"] = (("response", METRIC_DIM), said)
    overall = ["trusted" if (col == "trusted").all() else
               "misleading" if (col == "misleading").any() else "uninformative"
               for col in said.T]
    out["verdict"] = (METRIC_DIM, np.asarray(overall, str))
    out["surrogate_r2"] = (("response", "surrogate"), np.asarray([p["r2"] for p in per]))
    return out


def _on_user_network(model: Model | Ensemble, inputs: xr.Dataset, sdim: str,
                     out: xr.Dataset, methods: list[str], n_explain: int, seed: int,
                     device: Any) -> tuple[xr.Dataset, xr.Dataset]:
    """Step 5: every method on the user's network, the trusted metrics on those maps, and
    each trusted metric's ranking of the methods against the benchmark's."""
    from scipy.stats import kendalltau

    last = inputs.isel({sdim: slice(-min(n_explain, inputs.sizes[sdim]), None)})
    heat = attribute(last, model, methods=methods, seed=seed, device=device,
                     progress=False).compute()
    trusted = [str(m) for m, v in zip(out[METRIC_DIM].values, out["verdict"].values,
                                      strict=True) if v == "trusted"]
    names = [str(m) for m in out[METRIC_DIM].values]
    value = np.full((len(names), len(methods)), np.nan)
    tau = np.full(len(names), np.nan)
    pick = np.full(len(names), "", object)
    if trusted:
        ev = evaluate(heat, model, last, metrics=trusted, seed=seed, device=device)
        bench_rank = np.asarray(out["pooled_fidelity"].sel({METHOD_DIM: methods}).values)
        for name in trusted:
            da = ev[name]
            da = da.mean([d for d in da.dims if d != METHOD_DIM]).sel({METHOD_DIM: methods})
            q = np.asarray(da.values, float)
            k = names.index(name)
            value[k] = q
            oriented = q if GTFREE_METRICS.get(name).higher_is_better else -q
            ok = np.isfinite(oriented)
            if ok.sum() >= 3:
                tau[k] = kendalltau(oriented[ok], bench_rank[ok]).statistic
                pick[k] = methods[int(np.nanargmax(oriented))]
    real = xr.Dataset({"real_value": ((METRIC_DIM, METHOD_DIM), value),
                       "real_rank_agreement": (METRIC_DIM, tau),
                       "real_pick": (METRIC_DIM, pick.astype(str))},
                      coords={METRIC_DIM: names, METHOD_DIM: methods})
    return heat, real


def _conclude(out: xr.Dataset, model: Model | Ensemble, inputs: xr.Dataset,
              y: xr.DataArray | None, sdim: str, n: int, n_train: int) -> None:
    """The recommendation, the trusted metrics, the R² of the user's network and the
    verdict in words, as attributes (and the variables' CF descriptions)."""
    from .report import describe, verdict_words

    pooled = out["pooled_fidelity"]
    best = int(np.nanargmax(pooled.values))
    methods = [str(m) for m in out[METHOD_DIM].values]
    tied = [m for m, hi in zip(methods, out["pooled_fidelity_high"].values, strict=True)
            if hi >= float(out["pooled_fidelity_low"][best]) and m != methods[best]]
    trusted = [str(m) for m, v in zip(out[METRIC_DIM].values, out["verdict"].values,
                                      strict=True) if v == "trusted"]
    user_r2 = math.nan
    if y is not None:
        pred = model.predict(inputs)
        if "member" in pred.dims:
            pred = pred.mean("member")
        p, t = np.asarray(pred.values, float), np.asarray(y.values, float)
        user_r2 = float(1 - np.sum((t - p) ** 2) / np.sum((t - t.mean()) ** 2))
    out.attrs.update({
        "title": "xattrib advice: which attribution method to believe, and which metric to "
                 "check it with",
        "recommended_method": methods[best],
        "tied_methods": ", ".join(tied) or "none",
        "trusted_metrics": ", ".join(trusted) or "none",
        "trust_rule": TRUST_RULE,
        "n_data_samples": n, "n_train": n_train,
        "responses": ", ".join(str(r) for r in out["response"].values),
        "surrogate_r2_mean": float(np.nanmean(out["surrogate_r2"].values)),
        "user_r2": user_r2,
    })
    out.attrs["verdict"] = verdict_words(out)
    describe(out)
