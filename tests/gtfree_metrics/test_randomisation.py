"""MPRT: with every layer randomised, gradient maps no longer resemble the original."""

import numpy as np
import torch

import xattrib
from xattrib.evaluation.gtfree import evaluate
from xattrib.gtfree_metrics.randomisation import layers, randomised


def test_fully_randomised_gradients_are_uncorrelated(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=200, seed=0).compute()
    model = xattrib.fit(bench, epochs=2, hidden=(32, 32), progress=False, fresh=False)
    test = bench.isel(sample=slice(-20, None))
    heat = xattrib.attribute(test, model, methods="gradient", progress=False).compute()
    net = model.network("cpu")
    full = randomised(net, list(range(len(layers(net)))), seed=0)
    x = torch.as_tensor(model.cells.stack(test["x"]).values, dtype=torch.float32)
    xa = x.clone().requires_grad_()
    g0 = torch.autograd.grad(net(xa).sum(), xa)[0].abs().numpy()
    xb = x.clone().requires_grad_()
    g1 = torch.autograd.grad(full(xb).sum(), xb)[0].abs().numpy()
    rho = [np.corrcoef(np.argsort(np.argsort(g0[i])), np.argsort(np.argsort(g1[i])))[0, 1]
           for i in range(x.shape[0])]
    assert abs(np.mean(rho)) < 0.2
    q = evaluate(heat, model, test, metrics=["mprt", "emprt"]).compute()
    assert abs(float(q["mprt"].mean())) < 0.5
    assert q["mprt"].attrs["higher_is_better"] == 0 and "order=top_down" in q["mprt"].attrs[
        "parameters"]


def test_randomised_copy_leaves_the_network_alone(small_grid):
    bench = small_grid.xattrib.benchmark(n_samples=20, seed=0)
    net = xattrib.Model.exact(bench).network("cpu")
    before = [p.clone() for p in net.parameters()]
    r1 = randomised(net, [0], seed=3)
    r2 = randomised(net, [0], seed=3)
    for p, q in zip(net.parameters(), before, strict=True):
        assert torch.equal(p, q)
    for p, q in zip(r1.parameters(), r2.parameters(), strict=True):
        assert torch.equal(p, q)  # seeded
