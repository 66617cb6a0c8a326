"""TRIM's cost per sample, and its overhead against captum called directly.

Usage::

    .venv/bin/python benchmarks/trim.py                  # 1000 samples
    .venv/bin/python benchmarks/trim.py --samples 200 --cd-samples 200

For each transform, on the original MLP (d → 512 → 256 → 128 → 64 → 32 → 16 → 1, random
weights: the cost does not depend on training) over the bundled Pacific SST grid (fourier,
eof, wavelet; 450 cells) and a 5° global ocean grid (zonal, sht):

- TRIM-IG: ``xattrib.trim(..., method="integrated_gradients")`` (64 Gauss–Legendre steps)
  on a numpy-backed Dataset: gathering valid cells, the transform and its fixed residual,
  the group sums, the completeness error (one more pass of f' at the baseline) and the
  prediction, as an xarray Dataset;
- captum directly: ``IntegratedGradients`` on the same wrapped network f'(s, r) and already
  transformed tensors, in the same batches (the alternative a user writes by hand, minus
  the transforms and bookkeeping it would also need). Overhead = TRIM-IG / captum; goal
  ≤ 1.2;
- TRIM-CD: ``method="cd"`` over the transform's default groups (e.g. 17 radial bands).

Timings are the best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import timeit
from typing import Any

import numpy as np
import torch
import xarray as xr

import xattrib
from xattrib.architectures import MLP
from xattrib.attribution.transformed import TrimNetwork
from xattrib.transforms import feature_grouping, make_transform


def _best(fn: Any, repeats: int) -> float:
    """The fastest of ``repeats`` timed calls (a shared machine's noise only adds time)."""
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def _setup(kind: str, n: int) -> tuple[xr.Dataset, Any]:
    if kind == "pacific":
        sst = xattrib.datasets.pacific_sst()
        like = sst
    else:
        g = xattrib.grid.make_grid(resolution=5.0, mask="ocean")
        like = g["mask"].where(g["mask"]).expand_dims(time=2) * 0.0
    cells = xattrib.CellIndex.from_data(like)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, cells.n_cells)).astype(np.float32)
    da = cells.unstack(xr.DataArray(x, dims=("sample", "cell"))).rename("x")
    torch.manual_seed(0)
    net = MLP(cells.n_cells)
    model = xattrib.Model.from_module(net, like=da.isel(sample=slice(0, 2)))
    return da.to_dataset(), model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--cd-samples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    print(f"torch threads: {torch.get_num_threads()}, samples: {args.samples} (IG), "
          f"{args.cd_samples} (CD)")
    print(f"{'transform':>9} {'grid':>8} {'cells':>5} {'features':>8} {'groups':>6} "
          f"{'TRIM-IG ms/sample':>17} {'captum ms/sample':>16} {'overhead':>8} "
          f"{'TRIM-CD ms/sample':>17}")
    for name, grid, kw in (("fourier", "pacific", {}), ("eof", "pacific", {"n_modes": 30}),
                           ("wavelet", "pacific", {"wavelet": "db2", "level": 2}),
                           ("zonal", "global5", {}), ("sht", "global5", {"lmax": 20})):
        ds, model = _setup(grid, max(args.samples, args.cd_samples))
        t = make_transform(name, model.cells, data=ds["x"], **kw)
        _, labels, _ = feature_grouping(t)
        sub = ds.isel(sample=slice(0, args.samples))
        trim_ig = _best(lambda sub=sub, t=t, model=model: xattrib.trim(
            sub, model, transform=t, method="integrated_gradients", progress=False),
            args.repeats)
        # captum directly, on the same network, transform and batches as trim's kernel
        from captum.attr import IntegratedGradients

        net = model.network()
        x = torch.as_tensor(np.asarray(model.cells.stack(sub["x"]).values, np.float32))
        with torch.no_grad():
            s = t(x)
            r = x - t.inverse(s)
        tnet = TrimNetwork(net, t)
        batch = 2048 // 64

        def direct(s: torch.Tensor = s, r: torch.Tensor = r, tnet: Any = tnet,
                   batch: int = batch) -> None:
            ig = IntegratedGradients(tnet)
            for i in range(0, s.shape[0], batch):
                sb = s[i:i + batch].clone().requires_grad_()
                ig.attribute(sb, baselines=torch.zeros_like(sb), n_steps=64,
                             method="gausslegendre", additional_forward_args=(r[i:i + batch],))
        captum_t = _best(direct, args.repeats)
        cd_sub = ds.isel(sample=slice(0, args.cd_samples))
        trim_cd = _best(lambda cd_sub=cd_sub, t=t, model=model: xattrib.trim(
            cd_sub, model, transform=t, method="cd", progress=False), 1)
        print(f"{name:>9} {grid:>8} {model.cells.n_cells:>5} {t.features.size:>8} "
              f"{labels.size:>6} {1e3 * trim_ig / args.samples:>17.2f} "
              f"{1e3 * captum_t / args.samples:>16.2f} {trim_ig / captum_t:>8.2f} "
              f"{1e3 * trim_cd / args.cd_samples:>17.2f}", flush=True)


if __name__ == "__main__":
    main()
