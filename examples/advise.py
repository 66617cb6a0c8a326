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
# # Which heatmap to believe for my network: `advise`
#
# Run:  .venv/bin/python examples/advise.py [--small]
#
# A scientist's own network, trained with a plain torch loop on their own data, and the
# question "which attribution method can I believe, and which metric can I check it with?".
# The data: 2,000 SST anomaly fields on the bundled Pacific grid, drawn with the covariance of
# the observed winters (a long control run's worth; the 50 observed winters alone are too few
# to train on); the target: a nonlinear function of the Niño-3.4 box mean. The network never
# sees xattrib until it is wrapped; `advise` then trains surrogates of its architecture on
# benchmarks shaped like the data, scores every method against the exact truth there, audits
# every GT-free metric by the rule of trust, and checks the trusted metrics on the network
# itself (docs/advise.md).
#
# The documentation executes this notebook with `XATTRIB_EXAMPLE_SIZE=small` (the same as
# `--small`): 400 fields, three methods, two metrics and two training epochs — every step
# runs, but the surrogates barely learn, and the verdict says so.

# %%
import argparse
import os

import numpy as np
import torch

import xattrib

ap = argparse.ArgumentParser()
ap.add_argument("--small", action="store_true", help="toy sizes (for the tests)")
a, _ = ap.parse_known_args()  # in a notebook, the kernel's own arguments are ignored
a.small = a.small or os.environ.get("XATTRIB_EXAMPLE_SIZE") == "small"  # the docs build
torch.manual_seed(0)

sst = xattrib.datasets.pacific_sst()
n = 400 if a.small else 2000
fields = xattrib.benchmark(sst, n_samples=n, seed=11)["x"].rename(sample="time").compute()
box = (abs(fields.lat) <= 5) & (fields.lon >= 190) & (fields.lon <= 240)
weights = np.cos(np.deg2rad(fields.lat)).where(box & fields.isel(time=0).notnull(), 0.0)
nino34 = (fields.fillna(0) * weights).sum(["lat", "lon"]) / weights.sum()
target = np.tanh(2 * nino34)  # the user's own quantity of interest

# %% [markdown]
# The user's network and training loop: plain torch. A factory that builds a fresh,
# untrained copy is what lets `advise` train surrogates of the same architecture.

# %%
valid = fields.isel(time=0).notnull().values.ravel()


def make_net(n_inputs: int, width: int = 32) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(n_inputs, width), torch.nn.ReLU(),
                               torch.nn.Linear(width, 1))


x = torch.as_tensor(fields.values.reshape(n, -1)[:, valid], dtype=torch.float32)
y = torch.as_tensor(target.values, dtype=torch.float32)[:, None]
net = make_net(x.shape[1])
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for _ in range(100 if a.small else 1000):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(net(x), y)
    loss.backward()
    opt.step()
print(f"trained outside xattrib on {n} fields: training R² "
      f"{1 - float(loss.detach()) / float(y.var(unbiased=False)):.3f}")

# %% [markdown]
# Wrap it, and ask.

# %%
model = xattrib.Model.from_module(net, like=fields.rename("sst"), layout="cells",
                                  factory=make_net,
                                  factory_kwargs={"n_inputs": int(valid.sum())})
quick = dict(methods=["gradient", "input_x_gradient", "integrated_gradients"],
             metrics=["faithfulness_correlation", "sparseness"], n_samples=12, n_explain=8,
             seeds=1, epochs=2) if a.small else {}
adv = fields.rename("sst").xattrib.advise(model, target=target, factory=make_net,
                                          progress=False, **quick)
print(adv.advice.attrs["verdict"])

# %% [markdown]
# The tables behind the verdict (also `report.md` of `xattrib advise`), and the audit of
# the first response family at a glance.

# %%
print(adv.report().split("\n\n", 2)[2])
fig = xattrib.plots.plot_trust(
    adv.advice.isel(response=0).drop_vars("verdict").rename(verdict_by_response="verdict"))
