"""Training speed of ``fit`` against a bare torch loop, and time to R² ≥ 0.99 / 0.995.

Usage::

    .venv/bin/python benchmarks/train.py            # epoch-time ratio + time to R² 0.99
    .venv/bin/python benchmarks/train.py --quick    # epoch-time ratio only
    .venv/bin/python benchmarks/train.py --curve-only --epochs 110   # R² 0.995 (~1 h)
    .venv/bin/python benchmarks/train.py --defaults  # fit(bench) with no arguments
    .venv/bin/python benchmarks/train.py --memory    # peak memory of fit's fresh pool

1. Epoch time: ``fit`` on a 200k-sample benchmark held in memory vs the obvious alternative,
   a bare torch loop over in-memory tensors (randperm, slicing, Adam) with the same MLP and
   batch size, measured in this run. Also ``fit`` streaming the same benchmark from its lazy
   dask graph (chunks regenerated every epoch).
2. Time to R² ≥ 0.99: ``fit`` with fresh samples on the default real-SST benchmark (450
   cells, K = 5, the original MLP) with the main job's settings, the validation R² curve as
   it goes, and the epoch (and time) at which 0.99 and 0.995 are first reached
   (``--epochs N`` stretches the same recipe over N epochs).
3. Memory (``--memory``): ``fit(bench, epochs=1)`` with the default fresh pool (10⁶ samples
   drawn from the generator) on the default 450-cell benchmark of 4,000 samples: the rise of
   the process's peak resident memory during ``fit`` against the pool's own size
   (10⁶ × 450 float32 = 1.8 GB). The target is at most about 1.5 × the pool.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np
import torch

import xattrib
from xattrib.architectures import MLP


def bare_loop(x: np.ndarray, y: np.ndarray, batch: int, epochs: int, seed: int = 0) -> float:
    torch.manual_seed(seed)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(((y - y.mean()) / y.std()).astype(np.float32))
    xt = (xt - xt.mean(0)) / xt.std(0)
    net = MLP(x.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        perm = torch.randperm(xt.shape[0])
        for s in range(0, xt.shape[0], batch):
            idx = perm[s:s + batch]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(xt[idx]).squeeze(1), yt[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--quick", action="store_true", help="skip the time-to-R² run")
    ap.add_argument("--epochs", type=int, default=16, help="epochs of the time-to-R² run")
    ap.add_argument("--curve-only", action="store_true",
                    help="skip the epoch-time ratio; only the time-to-R² run")
    ap.add_argument("--progress", action="store_true", help="progress bar for the long run")
    ap.add_argument("--defaults", action="store_true",
                    help="only: fit(bench) with no arguments on the default benchmark")
    ap.add_argument("--memory", action="store_true",
                    help="only: peak memory of fit(bench, epochs=1) against its pool")
    a = ap.parse_args()
    torch.set_num_threads(2)
    if a.memory:
        memory()
        return
    if a.defaults:
        defaults(a)
        return

    if not a.curve_only:
        ratio(a)
    if not a.quick:
        curve(a)


def ratio(a: argparse.Namespace) -> None:
    lazy = xattrib.benchmark(n_samples=a.samples, seed=0, chunks=50_000)
    mem = lazy.compute()
    cells = xattrib.CellIndex.from_mask(mem["mask"])
    n_train = int(a.samples * 0.95)
    x = cells.stack(mem["x"]).values[:n_train].astype(np.float32)
    y = mem["y"].values[:n_train]
    print(f"{a.samples:,} samples x {x.shape[1]} cells, original MLP, batch {a.batch}, "
          f"{torch.get_num_threads()} torch threads")
    bare = bare_loop(x, y, a.batch, epochs=3)
    print(f"bare torch loop (in-memory tensors)     {bare:6.2f} s/epoch")
    m = xattrib.fit(mem, epochs=3, batch_size=a.batch, val_fraction=0.05, progress=False,
                    fresh=False, target_r2=None,
                    patience=None)
    ours = min(h["train_seconds"] for h in m.history)
    print(f"xattrib.fit (in-memory Dataset)         {ours:6.2f} s/epoch   ratio {ours / bare:.2f}x")
    m = xattrib.fit(lazy, epochs=2, batch_size=a.batch, val_fraction=0.05, progress=False,
                    fresh=False, target_r2=None,
                    patience=None)
    streamed = min(h["train_seconds"] for h in m.history)
    print(f"xattrib.fit (lazy dask, regenerated)    {streamed:6.2f} s/epoch   ratio "
          f"{streamed / bare:.2f}x")


def curve(a: argparse.Namespace) -> None:
    print(f"\ntime to validation R² >= 0.99: the main job's settings ({a.epochs} epochs x 1M "
          "fresh samples, a new pool every 4 epochs, batch 1024, lr 2e-3, cosine schedule):")
    bench = xattrib.benchmark(n_samples=20_000, seed=0, chunks=10_000)
    t0 = time.perf_counter()
    m = xattrib.fit(bench, fresh=True, samples_per_epoch=1_000_000, fresh_every=4,
                    epochs=a.epochs, batch_size=1024, lr=2e-3, val_fraction=0.5, patience=None,
                    progress=a.progress)
    elapsed, reached = 0.0, {0.99: None, 0.995: None}
    for h in m.history:
        elapsed += h["seconds"]
        print(f"  epoch {h['epoch']:3d}  samples {h['epoch']:5.1f}M  "
              f"val R² {h['val_r2']:.4f}  {elapsed:7.1f} s", flush=True)
        for level in reached:
            if reached[level] is None and h["val_r2"] >= level:
                reached[level] = (h["epoch"], elapsed)
    print(f"total {time.perf_counter() - t0:.0f} s; final R² {m.r2:.4f}; linear R² "
          f"{m.linear_r2:.4f}")
    for level, hit in reached.items():
        print(f"R² >= {level}: " + (f"epoch {hit[0]}, {hit[1]:.0f} s" if hit else "not reached"))

def _rss_bytes() -> int:
    """Resident memory now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def memory() -> None:
    """Peak resident memory added by ``fit(bench, epochs=1)`` against its fresh pool."""
    bench = xattrib.benchmark(n_samples=4_000, seed=0)
    cells = int(bench["mask"].sum())
    base = _rss_bytes()
    peak = [base]
    stop = threading.Event()

    def watch() -> None:  # sampled: ru_maxrss would include anything before fit
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.01)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t0 = time.perf_counter()
    m = xattrib.fit(bench, epochs=1, progress=False)
    stop.set()
    t.join()
    pool = m.provenance["fit_samples_per_epoch"] * cells * 4
    rise = peak[0] - base
    print(f"fit(bench, epochs=1): {m.provenance['fit_samples_per_epoch']:,} fresh samples x "
          f"{cells} cells, {time.perf_counter() - t0:.0f} s")
    print(f"pool {pool / 1e9:.2f} GB (float32); peak resident memory rose by "
          f"{rise / 1e9:.2f} GB = {rise / pool:.2f} x the pool")


def defaults(a: argparse.Namespace) -> None:
    """``fit(bench)`` with no arguments on the default benchmark: R² and wall time."""
    bench = xattrib.benchmark(n_samples=20_000, seed=0, chunks=10_000)
    t0 = time.perf_counter()
    m = xattrib.fit(bench, progress=a.progress)
    total = time.perf_counter() - t0
    p = m.provenance
    elapsed, first = 0.0, None
    for h in m.history:
        elapsed += h["seconds"]
        if first is None and h["val_r2"] >= 0.99:
            first = (h["epoch"], elapsed)
    print(f"fit(bench), no arguments: {len(m.history)} epochs x {p['fit_samples_per_epoch']:,} "
          f"fresh samples, stopped by {p['fit_stopped']}")
    print(f"validation R² {m.r2:.4f} after {total:.0f} s in all "
          f"({torch.get_num_threads()} torch threads)")
    print("R² >= 0.99 first at " + (f"epoch {first[0]}, {first[1]:.0f} s" if first
                                    else "no epoch"))


if __name__ == "__main__":
    main()
