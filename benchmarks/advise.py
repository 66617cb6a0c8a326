"""Is ``advise`` right? Validation against a truth it never sees, and its cost.

Usage::

    .venv/bin/python benchmarks/advise.py                 # the regimes below, a table
    .venv/bin/python benchmarks/advise.py --regimes 1 4   # some of them
    .venv/bin/python benchmarks/advise.py --small         # every step at toy size (seconds)
    .venv/bin/python benchmarks/advise.py --device cuda

In each regime a *user* has a network trained on their data, whose true response is hidden
from advise: another response family (``--hidden``, pwl: Mamalakis et al.'s piecewise-linear
F) and another seed than any advise uses; advise sees only the user's network and inputs,
and runs with responses ``--responses`` (tanh, linear: neither is the hidden one). Then, on
held-out samples of the hidden benchmark:

- every method's Pearson r with the hidden truth on the user's network (mean, bootstrap 95 %
  interval over samples); advise is **right** when its recommended method's mean lies within
  the best method's interval; the r gap is best minus recommended;
- Kendall τ between the methods ranked by each metric advise trusts (on the user's network,
  as advise evaluates it) and ranked by the hidden truth: does checking with the trusted
  metric work?

Regimes: the bundled SST grid (450 cells, its own covariance or a parametric kernel) and a
2° tropical-Pacific region (≥ 2,000 ocean cells), MLP and CNN, ``n_train`` from 500 to
10,000, short (1,000 km) and long (4,000 km) correlation lengths. Each line prints the
seconds advise took (the speed target: ≤ 10 min with defaults on the 450-cell grid and a
2,000-sample dataset, 2 cores).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import bootstrap, kendalltau

import xattrib


@dataclass
class Regime:
    grid: str        # "sst" (450 cells) or "region" (2° tropical Pacific, ≥ 2,000 cells)
    arch: str        # "mlp" or "cnn"
    n_train: int
    length: str      # "data" (the SST's own covariance), "short" or "long"


REGIMES = {
    1: Regime("sst", "mlp", 500, "data"),
    2: Regime("sst", "mlp", 2000, "data"),
    3: Regime("sst", "cnn", 2000, "data"),
    4: Regime("sst", "mlp", 10_000, "data"),
    5: Regime("sst", "mlp", 2000, "short"),
    6: Regime("region", "mlp", 2000, "short"),
    7: Regime("region", "mlp", 2000, "long"),
    8: Regime("region", "cnn", 5000, "long"),
}
LENGTH_KM = {"short": 1000.0, "long": 4000.0}


def source(reg: Regime) -> tuple[Any, Any]:
    """The user's field: (source for benchmark, covariance keywords)."""
    if reg.grid == "sst":
        sst = xattrib.datasets.pacific_sst()
        if reg.length == "data":
            return sst, None
        grid = sst.notnull().all("time").rename("mask").to_dataset()
        return grid, {"length_scale_km": LENGTH_KM[reg.length]}
    grid = xattrib.grid.make_grid(resolution=2.0, lat=(-30.0, 30.0), lon=(130.0, 290.0),
                                  mask="ocean")
    return grid, {"length_scale_km": LENGTH_KM.get(reg.length, 2000.0)}


def ci(v: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    v = v[np.isfinite(v)]
    res = bootstrap((v,), np.mean, n_resamples=1000, random_state=seed, method="percentile")
    return float(v.mean()), float(res.confidence_interval.low), \
        float(res.confidence_interval.high)


def one(reg: Regime, args: argparse.Namespace) -> dict[str, Any]:
    src, cov = source(reg)
    n_test = args.test_samples
    hidden = xattrib.benchmark(src, n_samples=reg.n_train + n_test, seed=args.hidden_seed,
                               response=args.hidden, covariance=cov).compute()
    train = hidden.isel(sample=slice(0, reg.n_train))
    test = hidden.isel(sample=slice(reg.n_train, None))
    fit_kw: dict[str, Any] = {"fresh": False, "progress": False, "device": args.device}
    if args.epochs:
        fit_kw["epochs"] = args.epochs
    if reg.arch == "cnn":
        fit_kw["channels"] = (8, 16)
    user = xattrib.fit(train, arch=reg.arch, seed=args.hidden_seed, **fit_kw)
    data = train["x"].rename("field")  # what the user has: their inputs, nothing else
    t = time.perf_counter()
    adv = xattrib.advise(user, data, target=train["y"],
                         responses=tuple(args.responses), members=args.members,
                         n_samples=args.audit_samples, seeds=args.seeds, seed=args.seed,
                         device=args.device, progress=False,
                         **({"epochs": args.epochs} if args.epochs else {}))
    seconds = time.perf_counter() - t
    a = adv.advice
    methods = [str(m) for m in a["xai_method"].values]
    heat = xattrib.attribute(test, user, methods=methods, progress=False,
                             device=args.device).compute()
    r = xattrib.score(heat, test, metrics=["pearson"])["pearson"]
    stats = {m: ci(np.asarray(r.sel(xai_method=m).values, float)) for m in methods}
    best = max(methods, key=lambda m: stats[m][0])
    rec = a.attrs["recommended_method"]
    right = stats[rec][0] >= stats[best][1]
    hidden_rank = np.asarray([stats[m][0] for m in methods])
    taus = {}
    for q in a.attrs["trusted_metrics"].split(", "):
        if q == "none":
            continue
        v = np.asarray(a["real_value"].sel(gtfree_metric=q, xai_method=methods).values, float)
        if not xattrib.gtfree_metrics.GTFREE_METRICS.get(q).higher_is_better:
            v = -v
        taus[q] = float(kendalltau(v, hidden_rank).statistic)
    return {"regime": reg, "recommended": rec, "best": best, "right": right,
            "gap": stats[best][0] - stats[rec][0], "best_ci": stats[best],
            "rec_r": stats[rec][0], "taus": taus, "seconds": seconds,
            "user_r2": float(user.r2), "surrogate_r2": a.attrs["surrogate_r2_mean"],
            "n_cells": int(hidden["mask"].sum())}


def row(i: int, res: dict[str, Any]) -> str:
    reg = res["regime"]
    lo, hi = res["best_ci"][1], res["best_ci"][2]
    taus = "; ".join(f"{q} {t:.2f}" for q, t in res["taus"].items()) or "none trusted"
    return (f"| {i} | {reg.grid} ({res['n_cells']} cells) | {reg.arch} | {reg.n_train} | "
            f"{reg.length} | {res['user_r2']:.3f} / {res['surrogate_r2']:.3f} | "
            f"{res['recommended']} ({res['rec_r']:.2f}) | {res['best']} "
            f"[{lo:.2f}, {hi:.2f}] | {res['gap']:.3f} | {'yes' if res['right'] else 'no'} | "
            f"{taus} | {res['seconds']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--regimes", type=int, nargs="+", default=sorted(REGIMES))
    ap.add_argument("--small", action="store_true", help="toy sizes: every step, no claim")
    ap.add_argument("--hidden", default="pwl", help="the user's hidden response family")
    ap.add_argument("--hidden-seed", type=int, default=4242)
    ap.add_argument("--responses", nargs="+", default=["tanh", "linear"])
    ap.add_argument("--members", type=int, default=2)
    ap.add_argument("--audit-samples", type=int, default=40)
    ap.add_argument("--test-samples", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, help="training epochs (default: fit's recipe)")
    ap.add_argument("--device")
    args = ap.parse_args()
    regimes = {i: REGIMES[i] for i in args.regimes}
    if args.small:
        regimes = {1: Regime("sst", "mlp", 200, "data")}
        args.audit_samples, args.test_samples, args.seeds, args.epochs = 12, 20, 1, 2
    print("| # | grid | arch | n_train | correlation | R² user / surrogates | recommended "
          "(its r) | best on the hidden truth [95 % CI] | r gap | right | τ of trusted "
          "metrics with the hidden truth | advise s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    right = 0
    for i, reg in regimes.items():
        res = one(reg, args)
        right += res["right"]
        print(row(i, res), flush=True)
    print(f"\nright in {right} of {len(regimes)} regimes (hidden response {args.hidden}, "
          f"seed {args.hidden_seed}; advise's responses {', '.join(args.responses)})")


if __name__ == "__main__":
    xr.set_options(keep_attrs=True)
    main()
