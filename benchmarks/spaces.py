"""Transformed truth spaces and TRIM's EOFs on large grids, without Σ as a matrix.

Usage::

    .venv/bin/python benchmarks/spaces.py --resolution 2.5       # ours and eigh of Σ
    .venv/bin/python benchmarks/spaces.py --resolution 1         # ours (Σ: 13.9 GiB)

For a parametric global ocean grid (the spectral sampler) and, with ``--data-maps N``, a
covariance estimated from N synthetic maps (the low-rank sampler), each step runs in a child
process so its peak memory (VmHWM) is its own:

1. ``benchmark(grid, space="eof" | "sht", n_features=50)``: set-up (the basis — Lanczos on
   products Σ v for the EOFs, the first 50 harmonics for SHT — the features' factor A L by
   adjoint synthesis, the response parameters) and drawing 1,000 samples;
2. TRIM over the EOFs of the benchmark's own Σ (``trim(..., transform="eof")``) and over
   spherical harmonics up to degree 20, integrated gradients of the exact F, 20 samples;
3. the obvious alternative, on grids where it fits (``--alternative``, default below
   8,192 cells): form Σ as a d × d matrix and take its leading eigenvectors with
   ``scipy.linalg.eigh`` — the time and memory ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _peak_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _source(a: argparse.Namespace):
    import numpy as np
    import xarray as xr

    import xattrib

    grid = xattrib.grid.make_grid(resolution=a.resolution, mask="ocean")
    if not a.data_maps:
        return grid
    cov = xattrib.covariances.parametric(grid, method="spectral")
    maps = cov.draws().draw(np.random.default_rng(123), a.data_maps)
    cells = xattrib.CellIndex.from_mask(grid["mask"])
    return cells.unstack(xr.DataArray(maps, dims=("time", "cell"))).rename("anomaly")


def child(a: argparse.Namespace) -> dict:
    import xattrib

    src = _source(a)
    base = _peak_mib()
    out: dict = {"step": a.child}
    t = time.perf_counter()
    if a.child == "alternative":  # Σ as a matrix, then eigh: what the samplers avoid
        from scipy.linalg import eigh

        cov = xattrib.benchmark(src, n_samples=10, chunks=10)
        gen = xattrib.generation.generator_from_dataset(cov)
        m = gen.covariance.matrix
        d = m.shape[0]
        eigh(m, subset_by_index=[d - 50, d - 1])
    else:
        space = a.child.split("_")[0]
        bench = xattrib.benchmark(src, space=space, n_features=50, n_samples=1000,
                                  chunks=1000, response="linear")
        out["setup_s"] = time.perf_counter() - t
        t = time.perf_counter()
        bench = bench.compute()
        out["draw_1000_s"] = time.perf_counter() - t
        out["cells"] = int(bench["mask"].sum())
        out["sampler"] = bench.attrs["xattrib_covariance_sampler"]
        if a.child.endswith("_trim"):
            f = xattrib.Model.exact(bench)
            part = bench.isel(sample=slice(0, 20))
            for tr, kw in (("eof", {"n_modes": 10}), ("sht", {"lmax": 20})):
                t = time.perf_counter()
                xattrib.trim(part, f, transform=tr, method="integrated_gradients",
                             transform_kwargs=kw, progress=False).compute()
                out[f"trim_{tr}_s"] = time.perf_counter() - t
    out["seconds"] = time.perf_counter() - t if a.child == "alternative" else out.get(
        "setup_s")
    out["peak_mib"] = _peak_mib()
    out["base_mib"] = base
    return out


def _run(a: argparse.Namespace, step: str) -> dict:
    args = [sys.executable, __file__, "--resolution", str(a.resolution), "--data-maps",
            str(a.data_maps), "--child", step]
    res = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--resolution", type=float, default=1.0, help="degrees")
    ap.add_argument("--data-maps", type=int, default=0,
                    help="estimate Σ from this many synthetic maps (low-rank sampler)")
    ap.add_argument("--alternative", choices=["auto", "yes", "no"], default="auto",
                    help="also form Σ and eigh it (auto: below 8,192 cells)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a)))
        return
    eof = _run(a, "eof_trim")
    sht = _run(a, "sht")
    d = eof["cells"]
    print(f"global ocean {a.resolution:g}°: {d:,} cells, sampler {eof['sampler']}"
          + (f" (from {a.data_maps} maps)" if a.data_maps else ""))
    for name, r in (("space='eof'", eof), ("space='sht'", sht)):
        print(f"benchmark({name}, 50 features): set-up {r['setup_s']:6.1f} s, 1,000 samples "
              f"{r['draw_1000_s']:5.1f} s, peak {r['peak_mib']:6.0f} MiB, "
              f"{r['peak_mib'] - r['base_mib']:+.0f} MiB above the grid and data alone")
    print(f"trim, 20 samples, IG of the exact F: EOFs of Σ (10 modes) {eof['trim_eof_s']:.1f} s;"
          f" spherical harmonics to degree 20 {eof['trim_sht_s']:.1f} s")
    sigma_gib = 8 * d * d / 2**30
    if a.alternative == "yes" or (a.alternative == "auto" and d <= 8192):
        alt = _run(a, "alternative")
        extra = alt["peak_mib"] - alt["base_mib"]
        ours = eof["peak_mib"] - eof["base_mib"]
        print(f"alternative: Σ as a {d:,} × {d:,} matrix ({sigma_gib:.2f} GiB) and eigh of its "
              f"50 leading modes: {alt['seconds']:.1f} s, {extra:+.0f} MiB above the grid -> "
              f"space='eof' set-up {alt['seconds'] / eof['setup_s']:.1f}x faster, "
              f"{extra:.0f} MiB vs {ours:.0f} MiB")
    else:
        print(f"alternative not run: Σ as a matrix alone would be {sigma_gib:.1f} GiB "
              f"({sigma_gib * 1024 / eof['peak_mib']:.1f}x our whole peak)")


if __name__ == "__main__":
    main()
