"""Overhead of ``attribute`` against captum called directly, and the one-at-a-time anchor.

Usage::

    .venv/bin/python benchmarks/attribute.py                 # 10⁴ samples
    .venv/bin/python benchmarks/attribute.py --samples 2000

For gradient, integrated gradients (64 steps) and occlusion (single cell), on the original
MLP over the 450 SST cells, in one run:

- xattrib: ``attribute`` on a numpy-backed Dataset with its default batching (gathering
  valid cells, scattering back to (sample, lat, lon) with NaN on land, completeness error,
  the model's prediction, CF attributes included; for gradient also ``prediction=False``);
- captum directly on the same network and an already stacked tensor, at its best batch size
  among those that were fastest in earlier runs (the alternative a careful user writes by
  hand, minus the stacking and unstacking it would also need);
- the original's approach, one sample per call (IG and occlusion), timed on a subset and
  scaled to the full count.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

import xattrib

_METHODS = ("gradient", "integrated_gradients", "occlusion")


def _captum(net: torch.nn.Module, name: str, x: torch.Tensor, batch: int) -> float:
    from captum.attr import FeatureAblation, IntegratedGradients, Saliency

    t = time.perf_counter()
    for s in range(0, x.shape[0], batch):
        xb = x[s:s + batch].clone().requires_grad_()
        if name == "gradient":
            Saliency(net).attribute(xb, abs=False)
        elif name == "integrated_gradients":
            IntegratedGradients(net).attribute(xb, baselines=torch.zeros_like(xb), n_steps=64,
                                               method="gausslegendre")
        else:
            FeatureAblation(net).attribute(xb, baselines=torch.zeros_like(xb),
                                           perturbations_per_eval=min(64, max(1, 8192 // len(xb))))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--single", type=int, default=50, help="samples for the one-at-a-time runs")
    ap.add_argument("--repeats", type=int, default=2,
                    help="timings per variant (20 times as many for gradient)")
    ap.add_argument("--verbose", action="store_true", help="every variant's best and median")
    ap.add_argument("--methods", nargs="+", default=list(_METHODS), choices=_METHODS)
    a = ap.parse_args()
    torch.set_num_threads(2)
    bench = xattrib.benchmark(n_samples=a.samples, seed=0, chunks=a.samples).compute()
    model = xattrib.fit(bench, epochs=1, progress=False, fresh=False)  # timings do not depend on skill
    net = model.network()
    cells = model.cells
    x = torch.as_tensor(cells.stack(bench["x"]).values, dtype=torch.float32)
    print(f"{a.samples:,} samples x {cells.n_cells} cells, original MLP, "
          f"{torch.get_num_threads()} torch threads")
    # warm both sides (imports, network folding, allocator) before timing anything
    xattrib.attribute(bench.isel(sample=slice(0, 20)), model,
                      methods=["gradient", "integrated_gradients", "occlusion"], progress=False)
    for name in ("gradient", "integrated_gradients", "occlusion"):
        _captum(net, name, x[:20], 20)
    print(f"{'method':22s} {'xattrib':>9s} {'captum best':>12s} {'(batch)':>8s} {'overhead':>9s} "
          f"{'(median)':>9s} {'one-at-a-time':>14s} {'speed-up':>9s}")
    for name in a.methods:
        batches = {"gradient": (1024, 2048, 10_000), "integrated_gradients": (32, 64),
                   "occlusion": (64, 512)}[name]
        runs: dict[str, Callable[[], Any]] = {
            "ours": lambda name=name: xattrib.attribute(bench, model, methods=[name],
                                                        progress=False)}
        if name == "gradient":  # the prediction comes from the gradient's own forward pass,
            # so it should cost nothing: time the call without it beside
            runs["ours, prediction=False"] = lambda: xattrib.attribute(
                bench, model, methods=["gradient"], progress=False, prediction=False)
        for b in batches:
            runs[f"captum {b}"] = lambda name=name, b=b: _captum(net, name, x, b)
        times: dict[str, list[float]] = {k: [] for k in runs}
        repeats = a.repeats * (20 if name == "gradient" else 1)  # gradients take 0.2 s
        order = random.Random(0)
        for _ in range(repeats):
            # interleaved, in a new random order each time (what runs just before matters
            # on this VM: allocator and cache state), best of repeats: timings drift by
            # tens of percent between runs
            for k in order.sample(list(runs), len(runs)):
                t = time.perf_counter()
                runs[k]()
                times[k].append(time.perf_counter() - t)
        if a.verbose:
            for k, v in times.items():
                print(f"  {k:24s} best {min(v):.3f}s  median {statistics.median(v):.3f}s")
        ours = min(times["ours"])
        best_b = min(batches, key=lambda b: min(times[f"captum {b}"]))
        best = min(times[f"captum {best_b}"])
        med = statistics.median(times["ours"]) / statistics.median(times[f"captum {best_b}"])
        line = (f"{name:22s} {ours:8.2f}s {best:11.2f}s {best_b:8d} {ours / best:8.2f}x "
                f"{med:8.2f}x")
        if name == "gradient":
            bare = min(times["ours, prediction=False"])
            line += f"   (prediction=False: {bare:.2f}s, {bare / best:.2f}x)"
        else:
            one = _captum(net, name, x[: a.single], 1) * a.samples / a.single
            line += f" {one:13.1f}s {one / ours:8.0f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
