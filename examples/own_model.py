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
# # Your own model and data
#
# Your own network on real data: train it outside xattrib, wrap it, explain it.
#
# Run:  .venv/bin/python examples/own_model.py [--small]
#
# The bundled Pacific SST anomalies (50 observed winters) feed a small torch network trained
# here with a plain torch loop, nothing from xattrib: it predicts the winter's Niño-3.4 index
# (area-mean SST over 5°S–5°N, 170°–120°W) from two input variables on one grid, this
# winter's SST and last winter's. xattrib wraps it (`Model.from_module`), computes
# Integrated Gradients and gradient heatmaps per variable (each in its own units), and
# breaks the prediction down by variable and by region. The index is an area mean over 20
# cells of this winter's field; with 49 winters for 900 inputs the network can fit it just as
# well through other, correlated cells and last winter's field, and the breakdown shows how
# much it does. There is no benchmark truth here; this is what real data look like.
#
# The documentation executes this notebook with `XATTRIB_EXAMPLE_SIZE=small` (the same as
# `--small`).

# %%
import argparse
import os

import numpy as np
import torch
import xarray as xr

import xattrib

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true", help="fewer training steps (for the tests)")
a, _ = ap.parse_known_args()  # in a notebook, the kernel's own arguments are ignored
a.small = a.small or os.environ.get("XATTRIB_EXAMPLE_SIZE") == "small"  # the docs build
torch.manual_seed(0)

sst = xattrib.datasets.pacific_sst()                          # (time, lat, lon), K, land NaN
box = (abs(sst.lat) <= 5) & (sst.lon >= 190) & (sst.lon <= 240)
weights = np.cos(np.deg2rad(sst.lat)).where(box & sst.isel(time=0).notnull(), 0.0)
nino34 = (sst.fillna(0) * weights).sum(["lat", "lon"]) / weights.sum()
data = xr.Dataset({"sst": sst.isel(time=slice(1, None)),
                   "sst_previous": sst.shift(time=1).isel(time=slice(1, None))
                   .assign_attrs(sst.attrs, long_name="previous winter's SST anomaly")})
target = nino34.isel(time=slice(1, None))

# --- your own training code: plain torch, nothing from xattrib -------------------------
valid = data["sst"].isel(time=0).notnull().values.ravel()
x = np.concatenate([data[v].values.reshape(data.sizes["time"], -1)[:, valid]
                    for v in ("sst", "sst_previous")], axis=1)  # (49, 2 × 450): 'cells'
xt = torch.as_tensor(x, dtype=torch.float32)
yt = torch.as_tensor(target.values, dtype=torch.float32)[:, None]
net = torch.nn.Sequential(torch.nn.Linear(xt.shape[1], 32), torch.nn.ReLU(),
                          torch.nn.Linear(32, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-3)
for _ in range(300 if a.small else 3000):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(net(xt), yt)
    loss.backward()
    opt.step()
r2 = 1 - float(loss.detach()) / float(yt.var(unbiased=False))
print(f"trained outside xattrib: 49 winters, training R² {r2:.3f}")

# --- xattrib: wrap, explain, break down --------------------------------------------------
model = xattrib.Model.from_module(net, like=data, layout="cells", outputs=["nino34"])
heat = data.xattrib.attribute(model, methods=["integrated_gradients", "gradient"],
                              baseline="zero", progress=False)
print(f"heatmaps: {', '.join(v for v in heat.data_vars if v.startswith('attribution'))}; "
      f"gradient units: {heat['attribution_sst'].attrs['units_gradient']}")
ig = {v: heat[f"attribution_{v}"].sel(xai_method="integrated_gradients")
      for v in ("sst", "sst_previous")}
total = sum(abs(m).sum(["lat", "lon"]) for m in ig.values())
for v, m in ig.items():
    share = float((abs(m).sum(["lat", "lon"]) / total).mean())
    print(f"share of |IG| on {v:13s} {share:.2f}")
in_box = float((abs(ig["sst"]).where(box).sum(["lat", "lon"])
                / abs(ig["sst"]).sum(["lat", "lon"])).mean())
print(f"share of this winter's |IG| inside the Niño-3.4 box ({int(box.sum())} of "
      f"{int(valid.sum())} cells): {in_box:.2f}")
err = float(abs(heat["completeness_error"].sel(xai_method="integrated_gradients")).max())
print(f"IG completeness error (max over winters): {err:.1e}")
