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
# # Ground truth and baselines
#
# The truth of a benchmark is **F(x) − F(b)** for a baseline b: every attribution answers
# "compared with what?". Methods must be asked the same question as the truth, or a perfect
# method scores badly (Mamalakis et al. 2023).
#
# - **zero** (`baseline="zero"`, the original paper): b = 0. The inputs are anomalies, so
#   0 is also the **mean input** E[X]: "what does each cell contribute relative to
#   climatology?"
# - **expectation** (`baseline="expectation"`): the truth is F(x) − E[F(X)], relative to the
#   *average response* over the input distribution: "relative to a typical state?". For a
#   nonlinear F, E[F(X)] ≠ F(E[X]), so this is not the zero/mean truth shifted by a
#   constant per sample. It is what SHAP-style methods with a background sample answer.
# - a number, a (lat, lon) field or a per-sample field: any other reference.
#
# Run: `.venv/bin/python examples/baselines.py [--small]` (the page is built with
# `--small`; the command prints the same numbers).

# %%
import argparse
import os

import matplotlib.pyplot as plt

import xattrib

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true")
a, _ = ap.parse_known_args()  # in a notebook, the kernel's own arguments are ignored
small = a.small or os.environ.get("XATTRIB_EXAMPLE_SIZE") == "small"
n = 3_000 if small else 20_000
fit_kw = dict(samples_per_epoch=3_000, epochs=1) if small else {}  # else: the defaults

# %% [markdown]
# Two benchmarks with the same seed have the same x and y; only the truth's baseline
# differs. The difference of the two truths is the same field in every sample:
# F(0) − E[F(X)] per cell.

# %%
zero = xattrib.benchmark(n_samples=n, seed=0, baseline="zero", chunks=3_000)
expect = xattrib.benchmark(n_samples=n, seed=0, baseline="expectation", chunks=3_000)
one = {"sample": n - 1}
fig, axes = plt.subplots(1, 3, figsize=(12, 2.6), constrained_layout=True)
panels = [(zero["truth"].isel(one), "truth vs zero (= mean input)"),
          (expect["truth"].isel(one), "truth vs expectation"),
          ((zero["truth"] - expect["truth"]).isel(one), "difference: F(0) − E[F(X)]")]
lim = float(abs(panels[0][0]).max())
for ax, (da, title) in zip(axes, panels, strict=True):
    da.plot(ax=ax, cmap="RdBu_r", vmin=-lim, vmax=lim, add_labels=False)
    ax.set_title(title, fontsize=10)
diff = (zero["truth"] - expect["truth"]).isel(sample=slice(0, 50))
print(f"the difference varies across samples by at most "
      f"{float((diff - diff.isel(sample=0)).max()):.1e} (float32 rounding)")

# %% [markdown]
# Train one network (the same x and y serve both truths) and ask each question with
# methods that can: IG and occlusion take one baseline input, DeepSHAP and GradientSHAP a
# background distribution drawn from the same generator.

# %%
model = zero.xattrib.fit(progress=False, **fit_kw)
for name, bench, methods in [("zero", zero, ["integrated_gradients", "occlusion", "deepshap"]),
                             ("expectation", expect, ["deepshap", "gradientshap"])]:
    test = bench.isel(sample=slice(-100, None))
    heat = test.xattrib.attribute(model, methods=methods, baseline=name, progress=False,
                                  n_background=50)
    r = heat.xattrib.score(test["truth"], metrics=["pearson"])["pearson"].mean("sample")
    print(f"baseline {name:11s} " + "  ".join(
        f"{m}: {float(v):.2f}" for m, v in zip(r["xai_method"].values, r.values, strict=True)))
