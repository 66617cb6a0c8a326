"""The whole loop from Python: benchmark → fit → attribute → score → figures.

Run:  .venv/bin/python examples/quickstart.py [--small] [--out DIR]

On the bundled real Pacific SST covariance: generate a benchmark whose correct attribution
is known, train the original MLP on fresh samples, explain it with four methods, score the
heatmaps against the truth and save the original's key figure (histograms of per-sample
correlation). ``--small`` runs a tiny version in seconds (used by the test suite).
"""

import argparse
from pathlib import Path

import xattrib
from xattrib import plots
from xattrib.summary import summarize

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true", help="tiny sizes for a quick check")
ap.add_argument("--out", default="quickstart-out")
a = ap.parse_args()
out = Path(a.out)
out.mkdir(exist_ok=True)

sst = xattrib.datasets.pacific_sst()                       # real anomalies, no network
bench = sst.xattrib.benchmark(n_samples=4_000 if a.small else 20_000, seed=0, chunks=2_000)
# the defaults are the recipe that works: fresh samples from the benchmark's generator,
# stopping at R² 0.995 or a plateau (--small: a tiny run for the tests)
small = {"samples_per_epoch": 4_000, "epochs": 2} if a.small else {}
model = bench.xattrib.fit(progress=False, **small)
print(f"model R² {model.r2:.3f} (a linear model reaches {model.linear_r2:.3f})")

test = bench.isel(sample=slice(-200, None))                # held out: never trained on
heat = test.xattrib.attribute(
    model, methods=["gradient", "input_x_gradient", "integrated_gradients", "occlusion"],
    progress=False)
scores = heat.xattrib.score(test["truth"])
table = summarize(scores, n_boot=200)
print(table["pearson"].sel(statistic=["mean", "mean_lo", "mean_hi"]).to_pandas().round(2))
plots.plot_histograms(scores, path=out / "histograms.png")
heat.xattrib.to_netcdf(out / "attributions.nc")            # CF-1.8, written atomically
print(f"wrote {out}/histograms.png and {out}/attributions.nc")
