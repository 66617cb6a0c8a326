"""Cost of the GT-free metrics, and ``evaluate`` against Quantus 0.6 at equal settings.

Usage::

    .venv/bin/python benchmarks/evaluate.py                  # xattrib only
    .venv/bin/pip install quantus==0.6.0                     # LGPL: never a dependency
    .venv/bin/python benchmarks/evaluate.py --quantus        # side by side, ratios
    .venv/bin/python benchmarks/evaluate.py --device cuda
    .venv/bin/python benchmarks/evaluate.py --metrics sparseness complexity --quantus

1. Every GT-free metric of :data:`xattrib.gtfree_metrics.GTFREE_METRICS` (or ``--metrics``) with its
   defaults: milliseconds per sample and method (integrated gradients heatmaps of a trained
   MLP on the 450-cell SST benchmark).
2. ``--quantus``: the metrics Quantus computes correctly for a one-output regressor —
   faithfulness correlation, sparseness, complexity, average sensitivity — on the same
   network, inputs and heatmaps, with the same settings (runs, subset size, perturbation
   samples and radius), Quantus's loop against ``xattrib.evaluate``'s batched kernels, timed
   in this run, each the fastest of ``--repeat`` runs; the maps-only metrics also at
   ``--map-scale`` times the samples. Beside the metrics that run the network: the time of
   those network passes alone, and Quantus's time over it — the most any implementation
   of the same metric could gain. Quantus's baselines differ ("black" = each sample's
   minimum; xattrib: the zero climatology), which does not change the cost; its explain
   function for average sensitivity is captum's IG on the same network, as xattrib re-runs
   it.
"""

from __future__ import annotations

import argparse
import time
import timeit
from typing import Any

import numpy as np
import torch

import xattrib
from xattrib.evaluation import evaluate
from xattrib.gtfree_metrics import GTFREE_METRICS


def setup(n: int, device: str | None) -> tuple[Any, Any, Any]:
    bench = xattrib.datasets.pacific_sst().xattrib.benchmark(n_samples=4000, seed=0)
    model = xattrib.fit(bench, epochs=2, samples_per_epoch=50_000, progress=False,
                        device=device)
    test = bench.isel(sample=slice(-n, None)).compute()
    heat = xattrib.attribute(test, model, methods="integrated_gradients", progress=False,
                             device=device).compute()
    return test, model, heat


def ours(test: Any, model: Any, heat: Any, name: str, device: str | None,
         **params: Any) -> float:
    t = time.perf_counter()
    evaluate(heat, model, test, metrics=[name], device=device, **params).compute()
    return time.perf_counter() - t


class _Flat(torch.nn.Module):
    """Quantus hands (N, 1, d) arrays; the network reads (N, d)."""

    def __init__(self, net: Any) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Any) -> Any:
        return self.net(x.reshape(x.shape[0], -1))


def _ig(net: Any, t: Any) -> Any:
    from captum.attr import IntegratedGradients

    return IntegratedGradients(net).attribute(t, baselines=torch.zeros_like(t), target=0,
                                              n_steps=64, method="gausslegendre")


def _best(fn: Any, repeat: int) -> float:
    """The fastest of ``repeat`` timed calls (a shared machine's noise only adds time)."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def floors(test: Any, model: Any, n_runs: int, n_sens: int, repeat: int) -> dict[str, float]:
    """Seconds of the network passes alone that the metrics make, with nothing else: the
    same rows, 64 samples' worth per call (Quantus's batch), spread over the cores with one
    torch thread each (as ``evaluate`` spreads them; faster here than two threads per
    call). No implementation of the same metric at the same settings can take much less;
    Quantus's time over this floor is about the most any implementation could gain."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from xattrib.parallel import task_threads

    x = torch.as_tensor(model.cells.stack(test["x"]).values, dtype=torch.float32)
    net = model.network("cpu").eval()
    starts = range(0, x.shape[0], 64)

    def forward(s: int) -> None:
        with task_threads(1), torch.no_grad():
            net(x[s:s + 64].repeat_interleave(n_runs, 0))

    def ig(s: int) -> None:
        with task_threads(1):
            _ig(net, x[s:s + 64].repeat_interleave(n_sens, 0))

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        return {name: _best(lambda fn=fn: list(pool.map(fn, starts)), repeat)
                for name, fn in (("faithfulness_correlation", forward), ("avg_sensitivity", ig))}


def quantus_metrics(n_runs: int, subset: int, n_sens: int, radius: float) -> dict[str, Any]:
    """The four metrics Quantus 0.6 computes correctly for a one-output regressor, with the
    settings ``xattrib.evaluate`` is given."""
    import quantus

    return {
        "faithfulness_correlation": quantus.FaithfulnessCorrelation(
            nr_runs=n_runs, subset_size=subset, perturb_baseline="black", abs=False,
            normalise=False, return_aggregate=False, disable_warnings=True),
        "sparseness": quantus.Sparseness(disable_warnings=True, normalise=False),
        "complexity": quantus.Complexity(disable_warnings=True, normalise=False),
        "avg_sensitivity": quantus.AvgSensitivity(
            nr_samples=n_sens, lower_bound=radius, normalise=False, disable_warnings=True),
    }


def quantus_time(metric: Any, test: Any, model: Any, heat: Any, repeat: int) -> float:
    """Quantus's loop on the same network, inputs and heatmaps (its batch: 64 samples)."""
    cells = model.cells
    x = cells.stack(test["x"]).values.astype(np.float32)[:, None, :]
    a = cells.stack(heat["attribution"].sel(xai_method="integrated_gradients")).values.astype(
        np.float32)[:, None, :]
    y = np.zeros(x.shape[0], int)  # the one output
    net = _Flat(model.network("cpu")).eval()

    def explain(model: Any, inputs: Any, targets: Any, **kw: Any) -> Any:
        return _ig(model, torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
                   ).detach().numpy()

    return _best(lambda: metric(model=net, x_batch=x, y_batch=y, a_batch=a.copy(),
                                device="cpu", softmax=False, channel_first=True,
                                explain_func=explain, batch_size=64), repeat)


def tiled(ds: Any, k: int) -> Any:
    """``ds`` k times over along ``sample`` (the maps-only metrics cost the same whatever
    the values: this times them at k times the samples without k times the attribution)."""
    import xarray as xr

    out = xr.concat([ds] * k, "sample", data_vars="minimal", coords="minimal",
                    compat="override", join="override")
    return out.assign_coords(sample=np.arange(out.sizes["sample"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--quantus", action="store_true", help="time Quantus 0.6 side by side")
    ap.add_argument("--device", default=None)
    ap.add_argument("--metrics", nargs="+", default=None,
                    help="time only these metrics (default: all)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="side by side: the fastest of this many runs of each (default 3)")
    ap.add_argument("--map-scale", type=int, default=10,
                    help="side by side: the maps-only metrics (sparseness, complexity) also "
                         "on the samples this many times over (default 10)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    test, model, heat = setup(a.samples, a.device)
    n = a.samples
    dev = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = f" ({torch.cuda.get_device_name()})" if dev.startswith("cuda") else ""
    print(f"{n} samples x 1 method (IG) x {model.cells.n_cells} cells, MLP, device "
          f"{dev}{gpu}")
    print("\nxattrib.evaluate, every GT-free metric with its defaults:")
    for name in a.metrics or GTFREE_METRICS.names():
        if GTFREE_METRICS.get(name).min_outputs > len(model.outputs):
            print(f"  {name:26s} (needs a model of {GTFREE_METRICS.get(name).min_outputs}+ outputs)")
            continue
        s = ours(test, model, heat, name, a.device)
        print(f"  {name:26s} {s / n * 1e3:8.2f} ms per sample and method")
    if not a.quantus:
        return
    n_runs, subset, n_sens, radius = 100, 45, 10, 0.2
    print(f"\nequal settings vs Quantus 0.6 (the fastest of {a.repeat} runs of each): "
          f"faithfulness correlation {n_runs} runs of {subset} cells; average sensitivity "
          f"{n_sens} perturbations, radius {radius}")
    low = floors(test, model, n_runs, n_sens, a.repeat)
    params: dict[str, dict[str, Any]] = {
        "faithfulness_correlation": {"faithfulness_correlation": {
            "n_runs": n_runs, "subset": subset}},
        "avg_sensitivity": {"avg_sensitivity": {"n_samples": n_sens, "radius": radius}}}
    for name, metric in quantus_metrics(n_runs, subset, n_sens, radius).items():
        if a.metrics and name not in a.metrics:
            continue
        sizes = [1] + ([a.map_scale] if GTFREE_METRICS.get(name).needs == "map" and a.map_scale > 1
                       else [])
        for k in sizes:
            t_, h_ = (test, heat) if k == 1 else (tiled(test, k), tiled(heat, k))
            tq = quantus_time(metric, t_, model, h_, a.repeat)
            to = _best(lambda t_=t_, h_=h_, q=name: ours(t_, model, h_, q, "cpu",
                                                         **params.get(q, {})), a.repeat)
            bound = (f"; the network passes alone {low[name] / n * 1e3:.2f} ms: at most "
                     f"{tq / low[name]:.1f}x possible" if name in low else "")
            print(f"  {name:26s} {n * k:6d} samples: Quantus {tq / (n * k) * 1e3:8.3f} ms, "
                  f"xattrib {to / (n * k) * 1e3:7.3f} ms per sample: {tq / to:6.1f}x "
                  f"faster{bound}")


if __name__ == "__main__":
    main()
