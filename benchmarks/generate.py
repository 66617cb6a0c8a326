"""Generation speed and streaming memory at the original's size, against a floor.

Usage::

    .venv/bin/python benchmarks/generate.py               # 10⁶ samples × 450 cells, K = 5
    .venv/bin/python benchmarks/generate.py --samples 200000

Prints, from one run on this machine:

1. the floor: numpy RNG (standard normals, float32) + one GEMM with the covariance factor for
   the same number of samples and cells, single process, the obvious alternative;
2. xattrib: x + y + truth computed to memory (dask threaded scheduler), and the ratio;
3. streaming the whole benchmark to zarr, with the peak RSS of a child process doing only that.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def floor(n: int, lt: np.ndarray, block: int = 50_000) -> float:
    """numpy RNG + GEMM for n samples (in blocks, to stay in memory like any real user)."""
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for s in range(0, n, block):
        z = rng.standard_normal((min(block, n - s), lt.shape[0]), dtype=np.float32)
        z @ lt
    return time.perf_counter() - t


def generate(n: int, chunks: int) -> float:
    import dask

    import xattrib

    bench = xattrib.benchmark(n_samples=n, seed=0, chunks=chunks)
    def touch(block: np.ndarray) -> np.ndarray:
        # keep a *copy* of one value: a view would keep every chunk alive, and the run
        # would time the OS paging in gigabytes of fresh memory, not generation
        return block.reshape(-1)[:1].reshape((1,) * block.ndim).copy()

    parts = [bench[v].data.map_blocks(touch, chunks=(1,) * bench[v].ndim)
             for v in ("x", "y", "truth")]
    t = time.perf_counter()
    dask.compute(*parts, scheduler="threads")
    return time.perf_counter() - t


def stream_child(n: int, chunks: int, path: str) -> None:
    import dask

    import xattrib

    bench = xattrib.benchmark(n_samples=n, seed=0, chunks=chunks)
    t = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        bench.xattrib.to_zarr(path)
    dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt, "peak_rss_mib": _peak_rss_mib()}))


def _peak_rss_mib() -> float:
    """Peak RSS of this process. Not getrusage's ru_maxrss: a child started by fork/exec
    inherits the parent's high-water mark there (it reported the parent's 4.4 GB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--chunks", type=int, default=50_000)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        stream_child(a.samples, a.chunks, a.child)
        return

    import xattrib

    cov = xattrib.covariances.from_data(xattrib.datasets.pacific_sst())
    lt = np.ascontiguousarray(cov.factor().T.astype(np.float32))
    d = lt.shape[0]
    print(f"samples {a.samples:,} x cells {d}, pwl K=5, chunks {a.chunks:,}, cores {os.cpu_count()}")
    f = floor(a.samples, lt)
    print(f"floor  (numpy RNG + one GEMM)     {f:7.2f} s")
    g = generate(a.samples, a.chunks)
    print(f"xattrib x + y + truth             {g:7.2f} s   ratio {g / f:.2f}x the floor")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--samples", str(a.samples), "--chunks", str(a.chunks),
             "--child", os.path.join(tmp, "bench.zarr")],
            capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        size = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in
                   os.walk(os.path.join(tmp, "bench.zarr")) for fn in fns)
    print(f"stream to zarr                    {r['seconds']:7.2f} s   peak RSS "
          f"{r['peak_rss_mib']:.0f} MiB   store {size / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
