"""Contextual decomposition: β + γ is the output, an all-ones mask leaves γ ≈ 0, a linear
model's score is its exact group contribution, and unsupported layers are named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import xattrib
from xattrib.methods.decomposition import UnsupportedOperation, cd_scores, decompose


class _Block(nn.Module):
    """conv → BN → activation, plus the input: a residual add in forward code."""

    def __init__(self, c: int, act: type[nn.Module]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.act = act()

    def forward(self, x):
        return self.act(self.bn(self.conv(x))) + x


class _CNN(nn.Module):
    def __init__(self, act: type[nn.Module], pool: str) -> None:
        super().__init__()
        pool_layer = nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)
        self.body = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), act(),
            nn.Sequential(_Block(4, act)), pool_layer, nn.Conv2d(4, 6, 3),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.2), nn.Linear(24, 8), act(),
            nn.Linear(8, 1))

    def forward(self, x):
        return self.body(x.view(x.shape[0], 1, 8, 8))


def _random_bn(net: nn.Module) -> nn.Module:
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2)
            m.weight.data.normal_()
            m.bias.data.normal_()
    return net.eval()


ACTS = [nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.GELU]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), act=st.sampled_from(ACTS),
       kind=st.sampled_from(["mlp", "cnn-max", "cnn-avg"]), p=st.floats(0.0, 1.0))
def test_beta_plus_gamma_is_the_output(seed, act, kind, p):
    torch.manual_seed(seed)
    if kind == "mlp":
        net = nn.Sequential(nn.Linear(64, 32), act(), nn.Linear(32, 16), act(),
                            nn.Linear(16, 1)).eval()
    else:
        net = _random_bn(_CNN(act, kind[4:]))
    x = torch.randn(6, 64)
    mask = (torch.rand(6, 64) < p).float()
    beta, gamma = decompose(net, x * mask, x * (1 - mask))
    with torch.no_grad():
        y = net(x)
    np.testing.assert_allclose(beta + gamma, y, atol=1e-5 * (1 + float(y.abs().max())))
    # all-ones mask: everything is relevant
    beta1, gamma1 = decompose(net, x, torch.zeros_like(x))
    np.testing.assert_allclose(beta1, y, atol=1e-5 * (1 + float(y.abs().max())))
    assert float(gamma1.abs().max()) < 1e-6


def test_linear_model_scores_are_exact_group_contributions():
    torch.manual_seed(0)
    lin = nn.Linear(12, 1, bias=False)
    x = torch.randn(5, 12)
    groups = torch.arange(12) % 3
    scores = cd_scores(lin, x, groups, 3)
    w = lin.weight.detach()[0]
    want = torch.stack([(x * w * (groups == g)).sum(1) for g in range(3)], 1)
    np.testing.assert_allclose(scores, want, atol=1e-6)


def test_unsupported_layer_is_named():
    net = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1), nn.Linear(3, 1))
    with pytest.raises(UnsupportedOperation, match=r"'softmax' \(in layer '1', a Softmax\)"
                                                    r".*Supported: Linear"):
        decompose(net, torch.ones(2, 4), torch.zeros(2, 4))

    class Product(nn.Module):
        def forward(self, x):
            return (x * x).sum(1, keepdim=True)
    with pytest.raises(UnsupportedOperation, match="two decomposed tensors"):
        decompose(Product(), torch.ones(2, 4), torch.ones(2, 4))
    train_bn = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).train()
    with pytest.raises(UnsupportedOperation, match="training mode"):
        decompose(train_bn, torch.ones(3, 4), torch.zeros(3, 4))


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_xattribs_own_networks_and_input_space_cd(arch, small_grid):
    bench = xattrib.benchmark(small_grid, n_samples=400, seed=1, chunks=400)
    kw = {"hidden": (16, 8)} if arch == "mlp" else {"channels": (4,), "hidden": 8}
    model = xattrib.fit(bench, arch=arch, epochs=1, progress=False, fresh=False, **kw)
    net = model.network()
    x = torch.as_tensor(np.asarray(model.cells.stack(bench["x"][:5]).values, np.float32))
    mask = (torch.rand_like(x) < 0.5).float()
    beta, gamma = decompose(net, x * mask, x * (1 - mask))
    with torch.no_grad():
        np.testing.assert_allclose(beta + gamma, net(x), atol=1e-4)
    # through attribute(): patches of 2 × 2 cells share their group's score equally
    heat = xattrib.attribute(bench.isel(sample=slice(0, 5)), model, methods="cd", patch=2,
                             progress=False)
    from xattrib.attribution.engine import patch_groups

    groups = torch.as_tensor(patch_groups(model.cells, 2))
    scores = cd_scores(net, x, groups, int(groups.max()) + 1)
    got = model.cells.stack(heat["attribution"][0]).values
    counts = torch.bincount(groups).float()
    np.testing.assert_allclose(got, (scores[:, groups] / counts[groups]).numpy(), atol=1e-5)
    assert np.isnan(heat["completeness_error"]).all()


def test_cd_batching_does_not_change_scores():
    """Samples and groups split over passes (a small value budget) give the same scores."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 1)).eval()
    x = torch.randn(13, 20)
    groups = torch.arange(20) % 7
    whole = cd_scores(net, x, groups, 7)
    pieces = cd_scores(net, x, groups, 7, max_values=20 * 3)  # 3 rows per pass
    np.testing.assert_allclose(pieces, whole, atol=1e-6)


def test_trim_split_batches_keep_each_samples_residual():
    from xattrib.attribution.transformed import TrimNetwork

    class Half:  # a lossy transform: the first half of the inputs
        def forward(self, x):
            return x[:, :10]

        def inverse(self, s):
            return torch.cat([s, torch.zeros_like(s)], 1)

    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(20, 8), nn.Tanh(), nn.Linear(8, 1)).eval()
    x = torch.randn(9, 20)
    t = Half()
    s = t.forward(x)
    r = x - t.inverse(s)
    tnet = TrimNetwork(net, t)
    groups = torch.arange(10) % 4
    whole = cd_scores(net, s, groups, 4, split=tnet.cd_split(r))
    pieces = cd_scores(net, s, groups, 4, split=tnet.cd_split(r), max_values=20)
    np.testing.assert_allclose(pieces, whole, atol=1e-6)
    beta, gamma = decompose(net, *tnet.cd_split(r)(s, torch.ones_like(s), 1, slice(0, 9)))
    np.testing.assert_allclose(beta + gamma, net(x).detach(), atol=1e-6)  # f(x) exactly


@pytest.mark.parametrize("act", [nn.Sigmoid, nn.Softplus, nn.Tanh, nn.ReLU])
def test_a_group_without_features_scores_zero(act):
    """φ(0) ≠ 0 (Sigmoid, Softplus) goes to the irrelevant stream: an empty group is 0."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5, bias=False), act(), nn.Linear(5, 1, bias=False))
    x = torch.randn(4, 6)
    groups = torch.tensor([0, 0, 0, 2, 2, 2])  # group 1 has no features
    scores = cd_scores(net, x, groups, 3)
    assert torch.equal(scores[:, 1], torch.zeros(4))
    beta, gamma = decompose(net, x, torch.zeros_like(x))  # all-ones mask: γ = 0
    torch.testing.assert_close(beta + gamma, net(x))


class _InPlace(nn.Module):
    def __init__(self, style: str) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.a, self.b, self.style = nn.Linear(6, 8), nn.Linear(8, 1), style

    def forward(self, x):
        h = self.a(x)
        if self.style == "method":
            h.relu_()  # result dropped: h itself changes
        elif self.style == "functional":
            torch.nn.functional.relu(h, inplace=True)
        else:
            h.unsqueeze_(1)
            h = h[:, 0]
        return self.b(h)


@pytest.mark.parametrize("style", ["method", "functional"])
def test_in_place_ops_update_their_operand(style):
    net = _InPlace(style).eval()
    x = torch.randn(5, 6)
    mask = (torch.rand(6) > 0.5).float()
    beta, gamma = decompose(net, x * mask, x * (1 - mask))
    torch.testing.assert_close(beta + gamma, net(x), rtol=1e-5, atol=1e-6)


def test_in_place_op_that_changes_shape_is_refused():
    with pytest.raises(UnsupportedOperation, match="in-place 'unsqueeze_', which changes the "
                                                   "shape"):
        decompose(_InPlace("shape").eval(), torch.randn(2, 6), torch.zeros(2, 6))
