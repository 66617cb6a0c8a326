"""Generation speed and streaming memory, against a floor, for every covariance sampler.

Usage::

    .venv/bin/python benchmarks/generate.py                     # bundled SST: 10⁶ × 450, dense
    .venv/bin/python benchmarks/generate.py --samples 200000
    .venv/bin/python benchmarks/generate.py --grid global --resolution 1 --samples 100000
    .venv/bin/python benchmarks/generate.py --grid global --resolution 1 --data-maps 200
    .venv/bin/python benchmarks/generate.py --grid global --resolution 2.5 --samples 1000000

``--grid global`` is a parametric kernel on the ocean cells of a global grid (the spectral
sampler above 4,096 cells); ``--data-maps N`` instead estimates Σ from N synthetic anomaly
maps on that grid (the low-rank sampler). Prints, from one run on this machine:

1. set-up: the grid, then ``benchmark()`` itself (covariance, factor or spectrum, response
   parameters);
2. the floor: the obvious bare numpy draw of the *same* factor — numpy RNG (float32
   normals) and one GEMM with the dense factor, or with the low-rank factor plus the
   diagonal, or one multi-threaded ducc0 synthesis of the same spectrum — for the same
   samples, in one process, no response, no truth, no grid;
3. xattrib: x + y + truth computed to memory (dask threaded scheduler), and the ratio;
4. streaming the whole benchmark to zarr in a child process (``chunks="auto"``), with its
   wall time, throughput, peak RSS (VmHWM) and store size.
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


def source(a: argparse.Namespace):
    """What ``benchmark`` is given, and the keyword arguments of its covariance."""
    import xattrib

    if a.grid == "sst":
        return xattrib.datasets.pacific_sst(), None
    grid = xattrib.grid.make_grid(resolution=a.resolution, mask="ocean")
    if not a.data_maps:
        return grid, None
    # anomaly maps with a realistic spatial structure: draws of the default kernel
    cov = xattrib.covariances.parametric(grid, method="spectral")
    maps = cov.draws().draw(np.random.default_rng(123), a.data_maps)
    cells = xattrib.CellIndex.from_mask(grid["mask"])
    import xarray as xr

    da = cells.unstack(xr.DataArray(maps, dims=("time", "cell"))).rename("anomaly")
    return da, {"method": "lowrank"}


def floor(n: int, draws) -> float:
    """The bare numpy draw of the same factor for ``n`` samples (in blocks, like a user)."""
    from xattrib.covariances.quantised import QuantisedFactor, QuantisedLowRank

    rng = np.random.default_rng(0)
    block = min(50_000, max(500, 2**25 // draws.n_normals))  # ~128 MB of normals
    if isinstance(draws, QuantisedFactor):
        lt = np.ascontiguousarray(draws.matrix().T.astype(np.float32))

        def one(z):
            return z @ lt
    elif isinstance(draws, QuantisedLowRank):
        q = draws.scale * 2.0**-draws.bits
        ut = np.ascontiguousarray((draws.u_ints * q).T.astype(np.float32))
        s = (draws.s_ints * q).astype(np.float32)
        r = draws.rank

        def one(z):
            return z[:, :r] @ ut + z[:, r:] * s
    else:  # spectral: one ducc0 synthesis on all cores

        def one(z):
            return draws.apply(z, nthreads=os.cpu_count() or 1)
    t = time.perf_counter()
    for s0 in range(0, n, block):
        one(rng.standard_normal((min(block, n - s0), draws.n_normals), dtype=np.float32))
    return time.perf_counter() - t


def generate(bench) -> float:
    import dask

    def touch(block: np.ndarray) -> np.ndarray:
        # keep a *copy* of one value: a view would keep every chunk alive, and the run
        # would time the OS paging in gigabytes of fresh memory, not generation
        return block.reshape(-1)[:1].reshape((1,) * block.ndim).copy()

    parts = [bench[v].data.map_blocks(touch, chunks=(1,) * bench[v].ndim)
             for v in ("x", "y", "truth")]
    t = time.perf_counter()
    dask.compute(*parts, scheduler="threads")
    return time.perf_counter() - t


def stream_child(a: argparse.Namespace, path: str) -> None:
    import dask

    import xattrib

    t0 = time.perf_counter()
    src, cov = source(a)
    bench = xattrib.benchmark(src, n_samples=a.samples, seed=0, covariance=cov)
    setup = time.perf_counter() - t0
    t = time.perf_counter()
    if a.store == "none":  # every chunk generated and dropped: no disk, same streaming
        generate(bench)
    else:
        with dask.config.set(scheduler="threads"):
            xattrib.io.to_zarr(bench, path, progress=False)
    dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt, "setup": setup, "peak_rss_mib": _peak_rss_mib(),
                      "chunks": int(bench["x"].chunks[0][0])}))


def _peak_rss_mib() -> float:
    """Peak RSS of this process. Not getrusage's ru_maxrss: a child started by fork/exec
    inherits the parent's high-water mark there (it reported the parent's 4.4 GB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--grid", choices=["sst", "global"], default="sst")
    ap.add_argument("--resolution", type=float, default=1.0, help="degrees (--grid global)")
    ap.add_argument("--data-maps", type=int, default=0,
                    help="estimate Σ from this many synthetic maps (low-rank sampler)")
    ap.add_argument("--floor-samples", type=int, default=None,
                    help="samples of the floor and the in-memory run (default: --samples, "
                         "at most 20,000 on grids over 4,096 cells); ratios are per sample")
    ap.add_argument("--no-stream", action="store_true", help="skip the streaming run")
    ap.add_argument("--store", choices=["zarr", "none"], default="zarr",
                    help="stream into a zarr store, or generate every chunk and drop it "
                         "(10⁶ samples at 2.5° would need 55 GB of disk)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        stream_child(a, a.child)
        return

    import xattrib

    t = time.perf_counter()
    src, cov = source(a)
    t_grid = time.perf_counter() - t
    t = time.perf_counter()
    bench = xattrib.benchmark(src, n_samples=a.samples, seed=0, covariance=cov)
    t_setup = time.perf_counter() - t
    gen = xattrib.generation.generator_from_dataset(bench)
    d = gen.n_cells
    sampler = bench.attrs["xattrib_covariance_sampler"]
    n_mem = a.floor_samples or (a.samples if d <= 4096 else min(a.samples, 20_000))
    print(f"{a.grid}{'' if a.grid == 'sst' else f' {a.resolution:g}°'}: {d:,} cells, "
          f"sampler {sampler}, samples {a.samples:,}, pwl K=5, cores {os.cpu_count()}")
    print(f"set-up: grid or data {t_grid:6.1f} s; benchmark() {t_setup:6.1f} s "
          "(covariance, factor or spectrum, response parameters)")
    f = floor(n_mem, gen._factor)
    print(f"floor  (bare numpy draw, {n_mem:,})      {f:7.2f} s   {n_mem / f:9.0f} samples/s")
    sub = xattrib.benchmark(src, n_samples=n_mem, seed=0, covariance=cov)
    g = generate(sub)
    print(f"xattrib x + y + truth ({n_mem:,})       {g:7.2f} s   {n_mem / g:9.0f} samples/s"
          f"   ratio {g / f:.2f}x the floor")
    if a.no_stream:
        return
    with tempfile.TemporaryDirectory(dir=os.environ.get("XATTRIB_BENCH_TMP")) as tmp:
        args = [sys.executable, __file__, "--samples", str(a.samples), "--grid", a.grid,
                "--resolution", str(a.resolution), "--data-maps", str(a.data_maps),
                "--store", a.store, "--child", os.path.join(tmp, "bench.zarr")]
        out = subprocess.run(args, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        size = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in
                   os.walk(os.path.join(tmp, "bench.zarr")) for fn in fns)
    into = "to zarr" if a.store == "zarr" else "(no store)"
    print(f"stream {a.samples:,} {into} (chunks {r['chunks']:,})  {r['seconds']:7.1f} s   "
          f"{a.samples / r['seconds']:9.0f} samples/s   set-up {r['setup']:.1f} s   "
          f"peak RSS {r['peak_rss_mib']:.0f} MiB   store {size / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
