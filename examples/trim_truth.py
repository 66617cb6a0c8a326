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
# # TRIM scored against a truth in transformed space
#
# TRIM methods scored against an exact truth in transformed space, for each ``space``.
#
# Run:  .venv/bin/python examples/trim_truth.py [--small] [--features K] [--plot FILE]
#
# For ``space="eof"`` and ``"fourier"`` (the bundled Pacific SST covariance) and ``"sht"``
# (a global 10° ocean grid), a benchmark y = scale · Σₖ Fₖ(sₖ) over K features of an
# orthonormal basis is generated, a network is trained on it, and TRIM with the benchmark's
# own transform (``transform="benchmark"``, every feature its own group) explains held-out
# samples with several methods. Each method's map over the K features is scored against
# the transformed truth (mean Pearson r over samples; features weigh the same), on the
# network and on the benchmark's exact F (``Model.exact``: the method's own error). The
# output is a markdown table; ``--plot`` draws the band-importance curves (median and
# 10–90 % of |attribution| per wavenumber band) of the Fourier benchmark.
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

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true", help="tiny sizes (for the tests)")
ap.add_argument("--features", type=int, default=20, help="K transformed features")
ap.add_argument("--test", type=int, default=300, help="held-out samples explained")
ap.add_argument("--plot", type=Path)
a, _ = ap.parse_known_args()  # in a notebook, the kernel's own arguments are ignored
a.small = a.small or os.environ.get("XATTRIB_EXAMPLE_SIZE") == "small"  # the docs build
n_test = 10 if a.small else a.test
train = dict(epochs=1, samples_per_epoch=5_000) if a.small else dict(
    epochs=12, samples_per_epoch=200_000)
METHODS = ["integrated_gradients", "deeplift", "occlusion", "shapley_sampling", "cd",
           "input_x_gradient", "gradient"]

rows = {}
curves = None
for space, source in (("eof", None), ("fourier", None),
                      ("sht", xattrib.grid.make_grid(resolution=10.0, mask="ocean"))):
    bench = xattrib.benchmark(source, n_samples=20_000, seed=0, chunks=10_000, space=space,
                              n_features=a.features)
    model = xattrib.fit(bench, progress=False, **train)
    test = bench.isel(sample=slice(-n_test, None))
    for who, m in (("network", model), ("exact F", xattrib.Model.exact(bench))):
        out = xattrib.trim(test, m, transform="benchmark", groups="features", method=METHODS,
                           progress=False, n_samples=25)
        r = xattrib.score(out, test["truth"], metrics=["pearson"])["pearson"].mean("sample")
        rows[(space, who)] = (m.r2, r.to_series())
    if space == "fourier":
        curves = xattrib.trim(test, model, transform="benchmark",
                              method=["integrated_gradients", "cd"], progress=False)
        truth_bands = test["truth"].groupby("wavenumber").sum()

print(f"Mean Pearson r against the transformed truth ({a.features} features, {n_test} "
      "held-out samples; IG 64 steps, Shapley sampling 25 permutations)\n")
head = "| space | model | R² | " + " | ".join(METHODS) + " |"
print(head)
print("|" + "---|" * (3 + len(METHODS)))
for (space, who), (r2, r) in rows.items():
    print(f"| {space} | {who} | {r2:.3f} | " + " | ".join(f"{r[m]:.2f}" for m in METHODS)
          + " |")

# %% [markdown]
# The figure (saved to a file with `--plot FILE`):

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for m, colour in (("integrated_gradients", "C0"), ("cd", "C1")):
    att = abs(curves["attribution"].sel(xai_method=m))
    q = att.quantile([0.1, 0.5, 0.9], dim="sample")
    ax.fill_between(q.wavenumber, q[0], q[2], alpha=0.2, color=colour)
    ax.plot(q.wavenumber, q[1], color=colour, label=f"TRIM-{m} (median, 10–90 %)")
tq = abs(truth_bands).quantile(0.5, dim="sample")
ax.plot(tq.wavenumber, tq, "k--", label="truth (median)")
ax.set_xlabel("radial wavenumber band (cycles per domain)")
ax.set_ylabel("|attribution|")
ax.legend(fontsize=8)
fig.tight_layout()
print("median |attribution| per band (network IG, CD, truth): "
      + "; ".join(f"{float(w):g}: {float(i):.4f}, {float(c):.4f}, {float(t):.4f}"
                  for w, i, c, t in zip(
                      tq.wavenumber.values,
                      abs(curves["attribution"].sel(xai_method="integrated_gradients"))
                      .median("sample").values,
                      abs(curves["attribution"].sel(xai_method="cd")).median("sample")
                      .values, tq.values, strict=True)))
if a.plot:
    fig.savefig(a.plot, dpi=120)
    print(f"\nsaved {a.plot}")
assert np.isfinite([r for _, rr in rows.values() for r in rr]).all()
