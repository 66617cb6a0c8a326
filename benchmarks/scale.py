"""The whole pipeline at 10⁵, 10⁶ and 10⁷ samples on a 2-worker LocalCluster, streamed.

Usage::

    .venv/bin/python benchmarks/scale.py                       # n = 10⁵, 10⁶, 10⁷
    .venv/bin/python benchmarks/scale.py --samples 100000 1000000
    .venv/bin/python benchmarks/scale.py --scheduler tcp://host:8786   # a real cluster

For each n, on a LocalCluster of 2 worker processes with 1 thread each (or the cluster at
``--scheduler``), in one run, every stage reading its input from the store the previous one
wrote and writing its result straight into a zarr store (nothing is ever held whole):

1. **generate+store**: ``benchmark(n)`` → ``to_zarr``;
2. **attribute gradient**: every sample of the stored benchmark, on a fixed network (the
   original's d→512→256→128→64→32→16→1 ReLU MLP, seeded, untrained: the cost of
   attribution does not depend on the weights) → ``to_zarr``;
3. **attribute IG**: integrated gradients (50 steps) on the first min(n, 10⁵) samples (a
   subset: IG costs 50 gradients per sample; its throughput is what scales) → ``to_zarr``;
4. **score**: the gradient heatmaps of every sample against the stored truth, every metric
   → ``to_zarr``;
5. with ``--fit``: ``fit`` for one epoch over every stored sample (``fresh=False``, a
   32-unit hidden layer: the reading is what scales), chunks read through the cluster into
   this process.

Every stage ends with ``os.sync()`` inside its timing: stored means on disk (without it,
10⁶ samples' writes sit in the page cache while 10⁷ samples' must reach the disk).

It prints wall time, throughput (samples/s) and the peak RSS of each worker process (and
of this client process) during the stage (``VmHWM`` after resetting it through ``/proc/self/clear_refs``), then the ratio of
times between consecutive sizes. The grid is the 20° global ocean grid (9 × 18 cells, 106
valid): at 10⁷ samples its benchmark and heatmap stores take 12 GiB; the bundled Pacific
grid (540 cells) would need about 40 GiB for the same run (``--resolution`` changes the grid).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from typing import Any

import numpy as np


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:  # "5": reset the peak RSS (Linux ≥ 4.0)
        fh.write("5")


def _peak_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _generate(grid: Any, n: int, chunks: int, path: str) -> None:
    import xattrib

    xattrib.io.to_zarr(xattrib.benchmark(grid, n_samples=n, seed=0, chunks=chunks), path)


def _attribute(bench_path: str, n: int, model: Any, method: str, path: str,
               **params: Any) -> None:
    import xattrib

    bench = xattrib.io.open_dataset(bench_path).isel(sample=slice(0, n))
    xattrib.io.to_zarr(xattrib.attribute(bench, model, methods=method, progress=False,
                                         **params), path)


def _score(bench_path: str, heat_path: str, path: str) -> None:
    import xattrib

    heat = xattrib.io.open_dataset(heat_path)
    truth = xattrib.io.open_dataset(bench_path)["truth"]
    xattrib.io.to_zarr(xattrib.score(heat, truth), path)


def _fit(bench_path: str) -> None:
    """One epoch over every stored sample (a small network: the reading is what scales)."""
    import xattrib

    stored = xattrib.io.open_dataset(bench_path)
    xattrib.fit(stored, fresh=False, epochs=1, hidden=(32,), val_fraction=0.01,
                batch_size=4096, patience=None, progress=False)


def _stage(client: Any, name: str, n: int, fn: Any, *args: Any, **kw: Any) -> dict[str, Any]:
    client.run(_reset_peak)
    _reset_peak()
    t = time.perf_counter()
    fn(*args, **kw)
    os.sync()  # stored means on disk: the page cache absorbs 10⁶ samples' writes, not 10⁷
    dt = time.perf_counter() - t
    peaks = client.run(_peak_mib)
    row = {"stage": name, "n": n, "seconds": dt, "rate": n / dt,
           "peak_mib": sorted(peaks.values()), "client_mib": _peak_mib()}
    print(f"  {name:<22} n={n:>10,}  {dt:8.1f} s  {n / dt:12,.0f} samples/s  "
          f"peak RSS per worker {', '.join(f'{p:,.0f}' for p in row['peak_mib'])} MiB, "
          f"client {row['client_mib']:,.0f} MiB", flush=True)
    return row


def _store_size(path: str) -> float:
    return sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(path)
               for f in fs) / 2**30


def run(sizes: list[int], chunks: int, resolution: float, workdir: str, client: Any,
        fit: bool = False) -> list[dict[str, Any]]:
    import torch

    import xattrib
    from xattrib.grid.cells import CellIndex
    from xattrib.training.model import Model

    grid = xattrib.grid.make_grid(resolution=resolution, mask="ocean")
    cells = CellIndex.from_mask(grid["mask"])
    d = cells.n_cells
    torch.manual_seed(0)
    model = Model.build("mlp", cells, {}, np.zeros(d, np.float32), np.ones(d, np.float32),
                        0.0, 1.0)
    print(f"grid {dict(grid['mask'].sizes)} ({d} valid cells), chunks {chunks:,} samples, "
          f"workers {len(client.scheduler_info()['workers'])}", flush=True)
    rows = []
    for n in sizes:
        b_path, h_path = os.path.join(workdir, "bench.zarr"), os.path.join(workdir, "heat.zarr")
        ig_path, s_path = os.path.join(workdir, "ig.zarr"), os.path.join(workdir, "scores.zarr")
        rows.append(_stage(client, "generate+store", n, _generate, grid, n, chunks, b_path))
        m = min(n, 100_000)
        rows.append(_stage(client, "attribute gradient", n, _attribute, b_path, n, model,
                           "gradient", h_path))
        rows.append(_stage(client, "attribute IG (subset)", m, _attribute, b_path, m, model,
                           "integrated_gradients", ig_path, n_steps=50))
        rows.append(_stage(client, "score", n, _score, b_path, h_path, s_path))
        if fit:
            rows.append(_stage(client, "fit 1 epoch from store", n, _fit, b_path))
        print(f"  stores: benchmark {_store_size(b_path):.2f} GiB, gradient heatmaps "
              f"{_store_size(h_path):.2f} GiB", flush=True)
        for p in (b_path, h_path, ig_path, s_path):
            shutil.rmtree(p, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--chunks", type=int, default=50_000)
    ap.add_argument("--resolution", type=float, default=20.0)
    ap.add_argument("--scheduler", default="local",
                    help="'local' (2 worker processes × 1 thread) or a scheduler address")
    ap.add_argument("--workdir", default=None, help="where the stores go (default: a temp dir)")
    ap.add_argument("--fit", action="store_true",
                    help="also time fit: one epoch over every stored sample (hidden=(32,))")
    a = ap.parse_args()

    from xattrib.parallel import client

    workdir = a.workdir or tempfile.mkdtemp(prefix="xattrib-scale-")
    try:
        with client(a.scheduler, n_workers=2, threads_per_worker=1) as c:
            rows = run(sorted(a.samples), a.chunks, a.resolution, workdir, c, a.fit)
    finally:
        if a.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\nratios of wall time between consecutive sizes (10× the samples):")
    for stage in dict.fromkeys(r["stage"] for r in rows):
        rs = [r for r in rows if r["stage"] == stage]
        for lo, hi in zip(rs, rs[1:], strict=False):
            if hi["n"] != lo["n"]:
                print(f"  {stage:<22} time({hi['n']:.0e})/time({lo['n']:.0e}) = "
                      f"{hi['seconds'] / lo['seconds']:.2f}")
    worst = max(max(r["peak_mib"]) for r in rows)
    print(f"largest peak RSS of any worker in any stage: {worst:,.0f} MiB")


if __name__ == "__main__":
    main()
