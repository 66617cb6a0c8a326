"""Overhead of ``attribute`` against captum called directly, and the one-at-a-time anchor.

Usage::

    .venv/bin/python benchmarks/attribute.py                 # 10⁴ samples
    .venv/bin/python benchmarks/attribute.py --samples 2000

For gradient, integrated gradients (64 steps) and occlusion (single cell), on the original
MLP over the 450 SST cells, in one run:

- xattrib: ``attribute`` on a numpy-backed Dataset (stacking, batching, unstacking to
  (sample, lat, lon), completeness error, the model's prediction, CF attributes included;
  for gradient also without the prediction, a forward pass that is a third of its cost);
- captum directly on the same network and stacked tensor, at its best batch size among the
  two fastest found in earlier runs (the alternative a careful user writes by hand);
- the original's approach, one sample per call (IG and occlusion), timed on a subset and
  scaled to the full count.
"""

from __future__ import annotations

import argparse
import time

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
                                           perturbations_per_eval=min(64, max(1, 8192 // len(xb))))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--single", type=int, default=50, help="samples for the one-at-a-time runs")
    ap.add_argument("--repeats", type=int, default=2, help="timings per variant (best kept)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    bench = xattrib.benchmark(n_samples=a.samples, seed=0, chunks=a.samples).compute()
    model = xattrib.fit(bench, epochs=1, progress=False)  # timings do not depend on skill
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
          f"{'one-at-a-time':>14s} {'speed-up':>9s}")
    for name in ("gradient", "integrated_gradients", "occlusion"):
        batches = {"gradient": (1024, 10_000), "integrated_gradients": (32, 64),
                   "occlusion": (64, 512)}[name]
        ours, bare, best, best_b = [], [], float("inf"), 0
        for _ in range(a.repeats):  # interleaved, best of repeats: this VM's timings drift
            t = time.perf_counter()
            xattrib.attribute(bench, model, methods=[name], progress=False)
            ours.append(time.perf_counter() - t)
            if name == "gradient":  # a forward pass is a third of a gradient: show it apart
                t = time.perf_counter()
                xattrib.attribute(bench, model, methods=[name], progress=False, prediction=False)
                bare.append(time.perf_counter() - t)
            for b in batches:
                c = _captum(net, name, x, b)
                if c < best:
                    best, best_b = c, b
        line = f"{name:22s} {min(ours):8.2f}s {best:11.2f}s {best_b:8d} {min(ours) / best:8.2f}x"
        if bare:
            line += f"   (prediction=False: {min(bare):.2f}s, {min(bare) / best:.2f}x)"
        else:
            one = _captum(net, name, x[: a.single], 1) * a.samples / a.single
            line += f" {one:13.1f}s {one / min(ours):8.0f}x"
        print(line, flush=True)

if __name__ == "__main__":
    main()
