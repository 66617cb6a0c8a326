"""xattrib.Model: what a notebook shows of it, and wrapping a network on a benchmark."""

from __future__ import annotations

import numpy as np
import torch

import xattrib


def test_short_repr():
    bench = xattrib.benchmark(n_samples=20, chunks=20, response="linear")
    f = xattrib.Model.exact(bench)
    text = repr(f)
    assert text == ("<xattrib.Model arch='exact', variables=['x'], 450 valid cells of a 18 × 30 "
                    "grid, outputs=['y'], r2=1.0000>")
    mine = xattrib.Model.from_module(torch.nn.Linear(450, 1), like=bench)
    assert "r2" not in repr(mine) and len(repr(mine)) < 200  # unknown R² is not shown


def test_from_module_like_a_benchmark_reads_its_x():
    bench = xattrib.benchmark(n_samples=20, chunks=20, response="linear")
    net = torch.nn.Linear(450, 1)
    mine = xattrib.Model.from_module(net, like=bench)
    assert mine.variables == ["x"]
    x = torch.as_tensor(mine._stack(bench).values, dtype=torch.float32)
    np.testing.assert_allclose(mine.predict(bench).values, net(x).detach().numpy()[:, 0],
                               rtol=1e-5)
    heat = bench.xattrib.attribute(mine, methods="gradient", progress=False)
    assert "model_r2" not in heat["attribution"].attrs  # unknown for a wrapped network


def test_inputs_far_from_the_training_data_are_warned_about():
    """Raw fields with the climatology left in pass silently otherwise."""
    import pytest

    bench = xattrib.benchmark(n_samples=600, chunks=600, response="linear")
    model = xattrib.fit(bench, epochs=1, hidden=(4,), progress=False, fresh=False)
    _ = model.predict(bench.isel(sample=slice(0, 20))).values  # standardised: silent
    raw = bench.isel(sample=slice(0, 20)).assign(x=bench["x"][:20] + 20.0)  # + climatology
    with pytest.warns(UserWarning, match=r"far from what the network was trained on: their "
                                         r"mean is \d+ training standard deviations"):
        _ = model.predict(raw).values
    with pytest.warns(UserWarning, match="remove the climatology"):
        raw.xattrib.attribute(model, methods="gradient", progress=False).compute()
