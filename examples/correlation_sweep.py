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
# # Input correlation and attribution
#
# How input correlation changes what attribution methods get right (Krell et al. 2025).
#
# Run:  .venv/bin/python examples/correlation_sweep.py [--small]
#
# A global 10° ocean grid with a parametric Matérn covariance: sweep the correlation length,
# train a network for each, and score Input×Gradient and Integrated Gradients against the
# truth. Peers cannot do this: their benchmarks have no covariance knob.
#
# The documentation executes this notebook with `XATTRIB_EXAMPLE_SIZE=small` (the same as
# `--small`).

# %%
import argparse
import os

import xattrib

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true")
a, _ = ap.parse_known_args()  # in a notebook, the kernel's own arguments are ignored
a.small = a.small or os.environ.get("XATTRIB_EXAMPLE_SIZE") == "small"  # the docs build

grid = xattrib.grid.make_grid(resolution=20.0 if a.small else 10.0, mask="ocean")
for length in ([500, 3000] if a.small else [250, 1000, 2000, 4000]):
    bench = grid.xattrib.benchmark(n_samples=3_000 if a.small else 20_000, seed=1,
                                   covariance={"length_scale_km": length}, chunks=3_000)
    small = {"samples_per_epoch": 3_000, "epochs": 1} if a.small else {}
    model = bench.xattrib.fit(progress=False, **small)  # the defaults: fresh samples
    test = bench.isel(sample=slice(-100, None))
    heat = test.xattrib.attribute(model, methods=["input_x_gradient", "integrated_gradients"],
                                  progress=False)
    r = heat.xattrib.score(test["truth"], metrics=["pearson"])["pearson"].mean("sample")
    print(f"length scale {length:5d} km  model R² {model.r2:.3f}  "
          + "  ".join(f"{m}: {float(v):.2f}" for m, v in zip(r["xai_method"].values, r.values, strict=True)))
