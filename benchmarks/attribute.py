"""Overhead of ``attribute`` against captum called directly, and the one-at-a-time anchor.

Usage::

    .venv/bin/python benchmarks/attribute.py                 # 10⁴ samples
    .venv/bin/python benchmarks/attribute.py --samples 2000

For gradient, integrated gradients (64 steps) and occlusion (single cell), on the original
MLP over the 450 SST cells, in one run:

- xattrib: ``attribute`` on a numpy-backed Dataset (stacking, batching, unstacking to
  (sample, lat, lon), completeness error, CF attributes included);
- captum directly on the same network and stacked tensor, at its best batch size among a few
  (the alternative a careful user writes by hand);
- the original's approach, one sample per call (IG and occlusion), timed on a subset and
  scaled to the full count.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import xattrib


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
                                           perturbations_per_eval=min(64, max(1, 65536 // len(xb))))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--single", type=int, default=50, help="samples for the one-at-a-time runs")
    a = ap.parse_args()
    torch.set_num_threads(2)
    bench = xattrib.benchmark(n_samples=a.samples, seed=0, chunks=a.samples).compute()
    model = xattrib.fit(bench, epochs=1, progress=False)  # timings do not depend on skill
    net = model.network()
    cells = model.cells
    x = torch.as_tensor(cells.stack(bench["x"]).values, dtype=torch.float32)
    print(f"{a.samples:,} samples x {cells.n_cells} cells, original MLP, "
          f"{torch.get_num_threads()} torch threads")
    print(f"{'method':22s} {'xattrib':>9s} {'captum best':>12s} {'(batch)':>8s} {'overhead':>9s} "
          f"{'one-at-a-time':>14s} {'speed-up':>9s}")
    for name in ("gradient", "integrated_gradients", "occlusion"):
        t = time.perf_counter()
        xattrib.attribute(bench, model, methods=[name], progress=False)
        ours = time.perf_counter() - t
        batches = {"gradient": (1024, 4096, 10_000), "integrated_gradients": (64, 256, 1024),
                   "occlusion": (64, 256, 1024)}[name]
        best, best_b = min((_captum(net, name, x, b), b) for b in batches)
        line = f"{name:22s} {ours:8.2f}s {best:11.2f}s {best_b:8d} {ours / best:8.2f}x"
        if name != "gradient":
            one = _captum(net, name, x[: a.single], 1) * a.samples / a.single
            line += f" {one:13.1f}s {one / ours:8.0f}x"
        print(line)


if __name__ == "__main__":
    main()
