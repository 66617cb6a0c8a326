"""Training an ensemble: its cost against k single fits, and its scaling across workers.

Usage::

    .venv/bin/python benchmarks/ensemble.py               # k = 4 members, 2 epochs × 100k
    .venv/bin/python benchmarks/ensemble.py --members 6 --epochs 4
    .venv/bin/python benchmarks/ensemble.py --device cuda # on a GPU (the local part)

1. Local: ``fit(bench, seed=[0..k-1])`` (members in threads sharing the cores) against the
   obvious alternative, k calls of ``fit(bench, seed=s)`` one after the other, each with
   every core, measured in this run on the same cores. Target: ≤ 1.1 × (overhead only).
2. Cluster: the same ensemble on a dask LocalCluster of 1 worker and of 2 workers (one
   thread each, one member per task); the ratio of their times is the scaling.

Each member is the default 450-cell SST benchmark's MLP trained on fresh samples.
"""

from __future__ import annotations

import argparse
import time

import distributed

import xattrib


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--samples", type=int, default=100_000, help="samples per epoch")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-cluster", action="store_true")
    a = ap.parse_args()
    bench = xattrib.benchmark(n_samples=20_000, seed=0)
    seeds = list(range(a.members))
    kw = {"epochs": a.epochs, "samples_per_epoch": a.samples, "progress": False,
          "device": a.device}
    xattrib.fit(bench, seed=99, **{**kw, "epochs": 1, "samples_per_epoch": 2_000})  # warm-up

    t = time.perf_counter()
    singles = [xattrib.fit(bench, seed=s, **kw) for s in seeds]
    t_single = time.perf_counter() - t
    t = time.perf_counter()
    ens = xattrib.fit(bench, seed=seeds, **kw)
    t_ens = time.perf_counter() - t
    print(f"{a.members} members, {a.epochs} epochs x {a.samples:,} fresh samples, "
          f"device {a.device}")
    print(f"  {a.members} single fits one after another: {t_single:.1f} s "
          f"(R² {[round(m.r2, 3) for m in singles]})")
    print(f"  fit(seed=[...]), members sharing the cores: {t_ens:.1f} s "
          f"(R² {[round(float(v), 3) for v in ens.r2.values]})")
    print(f"  ratio ensemble / {a.members} single fits: {t_ens / t_single:.2f}  "
          f"(target <= 1.1)")
    if a.no_cluster:
        return
    times = {}
    for workers in (1, 2):
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                      processes=True, dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            t = time.perf_counter()
            xattrib.fit(bench, seed=seeds, threads=1, **{**kw, "device": "cpu"})
            times[workers] = time.perf_counter() - t
        print(f"  LocalCluster, {workers} worker(s) x 1 thread: {times[workers]:.1f} s")
    print(f"  scaling 1 -> 2 workers: {times[1] / times[2]:.2f}x (ideal 2)")


if __name__ == "__main__":
    main()
