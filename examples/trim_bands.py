# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # TRIM: which scales does my network use?
#
# TRIM over Fourier bands, EOF modes and zonal wavenumbers, with IG and contextual
# decomposition, next to the true function's answer.
#
# Run:  .venv/bin/python examples/trim_bands.py [--small] [--results DIR] [--plot FILE]
#
# 1. The main job's network (``xattrib benchmark --out DIR`` writes ``DIR/model.nc`` and
#    ``DIR/benchmark.nc``; pass ``--results DIR``), or without it a quickly trained one on the
#    same Pacific SST benchmark, explained over the 18 × 30 grid's radial **Fourier bands**
#    and its 20 leading **EOF modes** (fitted on the benchmark's samples). The Pacific grid is
#    regional, so zonal wavenumbers (a series round the latitude circle) do not fit it.
# 2. A network trained on a global 10° ocean benchmark, explained over **zonal
#    wavenumbers** m.
#
# For each, TRIM-IG and TRIM-CD of the network and TRIM-IG of the benchmark's exact response
# F (``Model.exact``: what a perfect network would answer) on held-out samples: the mean
# |attribution| per group, and how well the network's curve matches F's (Pearson r).
#
# The documentation executes this notebook with `XATTRIB_EXAMPLE_SIZE=small` (the same as
# `--small`).

# %%
import argparse
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import xattrib
from xattrib.transforms import EOF

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true", help="tiny sizes (for the tests)")
ap.add_argument("--results", type=Path, help="a main-job output directory to explain")
ap.add_argument("--samples", type=int, default=200, help="held-out samples to explain")
ap.add_argument("--plot", type=Path, help="save band-importance curves to this file")
a, _ = ap.parse_known_args()  # in a notebook, the kernel's own arguments are ignored
a.small = a.small or os.environ.get("XATTRIB_EXAMPLE_SIZE") == "small"  # the docs build
n_explain = 20 if a.small else a.samples
train = dict(epochs=2, samples_per_epoch=20_000) if a.small else dict(
    epochs=8, samples_per_epoch=200_000)


def curves(bench, model, transform, methods=("integrated_gradients", "cd")):
    """Mean |attribution| per group for the network's methods and for the exact F (IG)."""
    test = bench.isel(sample=slice(-n_explain, None))
    net = xattrib.trim(test, model, transform=transform, method=list(methods),
                       progress=False).compute()
    exact = xattrib.trim(test, xattrib.Model.exact(bench), transform=transform,
                         method="integrated_gradients", progress=False).compute()
    imp = abs(net["attribution"]).mean(net["attribution"].dims[1])
    ref = abs(exact["attribution"]).mean(exact["attribution"].dims[1])[0]
    return imp, ref, net


def report(title, imp, ref, top=6):
    dim = ref.dims[0]
    print(f"\n{title}: mean |attribution| per {dim} on {n_explain} held-out samples")
    order = np.argsort(-ref.values)[:top]
    print(f"{dim:>18} " + " ".join(f"{m:>20}" for m in imp.xai_method.values)
          + f" {'exact F (IG)':>14}")
    for i in order:
        label = ref[dim].values[i]
        print(f"{label!s:>18} " + " ".join(f"{float(imp[j, i]):>20.4f}"
                                           for j in range(imp.sizes['xai_method']))
              + f" {float(ref[i]):>14.4f}")
    for j, m in enumerate(imp.xai_method.values):
        r = np.corrcoef(imp[j].values, ref.values)[0, 1]
        print(f"  {m}: Pearson r of the curve with the exact F's: {r:.2f}")


# 1. the main job's network (or a quick one) on the Pacific SST benchmark
if a.results is not None:
    bench = xattrib.io.open_dataset(a.results / "benchmark.nc")
    model = xattrib.Model.load(a.results / "model.nc")
    source = f"the main job's network ({a.results}, R² {model.r2:.4f})"
else:
    sst = xattrib.datasets.pacific_sst()
    bench = sst.xattrib.benchmark(n_samples=2_000 if a.small else 20_000, seed=0,
                                  chunks=1_000 if a.small else 10_000)
    model = xattrib.fit(bench, progress=False, **train)
    source = f"a quickly trained network (R² {model.r2:.4f})"
print(f"Pacific SST benchmark, {source}")
imp, ref, out = curves(bench, model, "fourier")
report("Radial Fourier bands (cycles per domain)", imp, ref)
eof = EOF.fit(bench["x"].isel(sample=slice(0, 5_000)), n_modes=20, cells=model.cells)
imp_e, ref_e, _ = curves(bench, model, eof)
report("EOF modes", imp_e, ref_e)

# 2. a global ocean grid: zonal wavenumbers
grid = xattrib.grid.make_grid(resolution=10.0, mask="ocean")
gbench = grid.xattrib.benchmark(n_samples=2_000 if a.small else 20_000, seed=1,
                                chunks=1_000 if a.small else 10_000)
gmodel = xattrib.fit(gbench, progress=False, **train)
print(f"\nGlobal 10° ocean benchmark, network R² {gmodel.r2:.4f}")
imp_z, ref_z, _ = curves(gbench, gmodel, "zonal")
report("Zonal wavenumbers m", imp_z, ref_z)

# %% [markdown]
# The figure (saved to a file with `--plot FILE`):

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
att = abs(out["attribution"].sel(xai_method="cd"))
q = att.quantile([0.1, 0.5, 0.9], dim=att.dims[0])
ax.fill_between(q.wavenumber, q[0], q[2], alpha=0.3, label="CD, 10–90 %")
ax.plot(q.wavenumber, q[1], label="CD, median")
ax.plot(ref.wavenumber, ref, "k--", label="exact F (IG), mean")
ax.set_xlabel("radial wavenumber (cycles per domain)")
ax.set_ylabel("|attribution|")
ax.legend()
fig.tight_layout()
if a.plot:
    fig.savefig(a.plot, dpi=120)
    print(f"saved {a.plot}")
