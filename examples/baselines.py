"""The baseline decides the question: zero vs expectation (Mamalakis et al. 2023).

Run:  .venv/bin/python examples/baselines.py [--small]

The truth of a benchmark is F(x) − F(baseline). A zero-baseline truth asks "what does each
cell contribute relative to climatology?"; an expectation truth asks "relative to a typical
state?". Attribution methods must be asked the same question: IG and occlusion take one
baseline, DeepSHAP a background distribution drawn from the same generator.
"""

import argparse

import xattrib

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true")
a = ap.parse_args()
n = 3_000 if a.small else 20_000
fit_kw = dict(samples_per_epoch=3_000, epochs=1) if a.small else {}  # else: the defaults

zero = xattrib.benchmark(n_samples=n, seed=0, baseline="zero", chunks=3_000)
expect = xattrib.benchmark(n_samples=n, seed=0, baseline="expectation", chunks=3_000)
model = zero.xattrib.fit(progress=False, **fit_kw)  # same x and y: only the truth's baseline differs
for name, bench, methods in [("zero", zero, ["integrated_gradients", "occlusion", "deepshap"]),
                             ("expectation", expect, ["deepshap", "gradientshap"])]:
    test = bench.isel(sample=slice(-100, None))
    heat = test.xattrib.attribute(model, methods=methods, baseline=name, progress=False,
                                  n_background=50)
    r = heat.xattrib.score(test["truth"], metrics=["pearson"])["pearson"].mean("sample")
    print(f"baseline {name:11s} " + "  ".join(f"{m}: {float(v):.2f}"
                                               for m, v in zip(r["xai_method"].values, r.values, strict=True)))
