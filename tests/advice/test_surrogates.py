"""Surrogates are fresh networks of the user's own architecture: rebuilt by registry name,
by the user's factory in their own layout, or refused with the fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xattrib
from xattrib.advice.surrogates import surrogate_builder


class TinyCNN(torch.nn.Module):
    """A user's grid-layout network: reads (batch, lat, lon), land filled."""

    def __init__(self, ny: int, nx: int, width: int = 3) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, width, 3, padding=1)
        self.head = torch.nn.Linear(width * ny * nx, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x[:, None])).flatten(1))


def make_cnn(ny: int, nx: int, width: int = 3) -> torch.nn.Module:
    return TinyCNN(ny, nx, width)


@pytest.fixture(scope="module")
def sst_bench():
    sst = xattrib.datasets.pacific_sst()
    return sst, xattrib.benchmark(sst, n_samples=120, seed=3).compute()


def test_a_users_own_module_is_rebuilt_fresh_in_its_layout(sst_bench):
    sst, bench = sst_bench
    ny, nx = sst.sizes["lat"], sst.sizes["lon"]
    mine = xattrib.Model.from_module(make_cnn(ny, nx), like=sst, layout="grid",
                                     factory=make_cnn, factory_kwargs={"ny": ny, "nx": nx})
    a, b = surrogate_builder(mine)(bench, [1, 2], epochs=1).members
    for s in (a, b):
        inner = s.module.module
        assert type(inner) is TinyCNN and inner is not mine.module
        assert s.module.layout == "grid" and s.r2 == s.r2  # trained: a validation R²
    pa = torch.cat([p.flatten() for p in a.module.parameters()])
    pb = torch.cat([p.flatten() for p in b.module.parameters()])
    pu = torch.cat([p.flatten() for p in mine.module.parameters()])
    assert not torch.allclose(pa, pb) and not torch.allclose(pa, pu)
    # the surrogate explains like any model on the benchmark's grid
    heat = xattrib.attribute(bench.isel(sample=slice(0, 3)), a, methods="gradient",
                             progress=False)
    assert np.isfinite(heat["attribution"].values[:, :, bench["mask"].values]).all()


def test_a_registry_network_is_rebuilt_by_name_with_its_settings(sst_bench):
    _, bench = sst_bench
    mine = xattrib.fit(bench, hidden=(6, 4), epochs=1, progress=False, fresh=False)
    ens = surrogate_builder(mine)(bench, [5, 6], epochs=1)
    assert ens.seeds == [5, 6]
    s = ens.members[0]
    assert s.arch == "mlp" and s.arch_kwargs == mine.arch_kwargs
    # the ensemble path gives each member exactly what fitting it alone gives
    alone = xattrib.fit(bench, hidden=(6, 4), epochs=1, progress=False, fresh=False, seed=5)
    for p, q in zip(s.module.parameters(), alone.module.parameters(), strict=True):
        assert torch.equal(p, q)
    shapes = [tuple(p.shape) for p in s.module.parameters()]
    assert shapes == [tuple(p.shape) for p in mine.module.parameters()]


def test_a_module_nothing_can_rebuild_is_refused_with_the_fix(sst_bench):
    sst, _ = sst_bench
    ny, nx = sst.sizes["lat"], sst.sizes["lon"]
    mine = xattrib.Model.from_module(make_cnn(ny, nx), like=sst, layout="grid")
    with pytest.raises(ValueError, match=r"cannot rebuild your own module without a factory: "
                                         r"pass factory="):
        surrogate_builder(mine)
    # given here, the factory is used
    assert callable(surrogate_builder(mine, factory=lambda: make_cnn(ny, nx)))
