"""PerVariable: each variable's transform on its own cells (block-diagonal), round trip,
mismatched parts refused."""

import numpy as np
import pytest
import torch

from xattrib.grid import make_grid
from xattrib.grid.cells import CellIndex
from xattrib.transforms import EOF, Fourier
from xattrib.transforms.variables import PerVariable


@pytest.fixture(scope="module")
def cells():
    return CellIndex.from_mask(make_grid(20.0, mask="ocean")["mask"])


def test_block_diagonal_and_round_trip(cells):
    t = PerVariable([Fourier(cells), Fourier(cells), Fourier(cells)], ["a", "b", "c"])
    d, p = cells.n_cells, t.p
    x = torch.randn(4, 3 * d)
    s = t.forward(x)
    assert s.shape == (4, 3 * p) and t.features.size == 3 * p
    np.testing.assert_allclose(t.inverse(s).numpy(), x.numpy(), atol=1e-5)
    one = Fourier(cells)
    for i in range(3):  # variable i's features are its own cells' transform, and only that
        np.testing.assert_allclose(s[:, i * p:(i + 1) * p].numpy(),
                                   one.forward(x[:, i * d:(i + 1) * d]).numpy(), rtol=1e-5,
                                   atol=1e-5)
    moved = x.clone()
    moved[:, d:2 * d] += 1.0
    changed = (t.forward(moved) - s).abs().amax(0) > 0  # other blocks: bit for bit
    assert not changed[:p].any() and not changed[2 * p:].any() and changed[p:2 * p].any()
    assert list(t.features["input_variable"].values[[0, p, 2 * p]]) == ["a", "b", "c"]
    assert t.describe()["xattrib_transform_per_variable"] == "a b c"


def test_parts_must_share_features(cells):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((30, cells.n_cells))
    with pytest.raises(ValueError, match="needs the same features"):
        PerVariable([EOF(cells, np.linalg.qr(data.T)[0][:, :3].T, np.ones(3) / 3),
                     EOF(cells, np.linalg.qr(data.T)[0][:, :4].T, np.ones(4) / 4)], ["a", "b"])
    with pytest.raises(ValueError, match="one transform per variable"):
        PerVariable([Fourier(cells)], ["a"])
