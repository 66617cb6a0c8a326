import numpy as np
import torch

from xattrib.architectures import CNN
from xattrib.architectures.cnn import ToGrid


def test_to_grid_puts_each_variable_in_its_channel():
    flat, shape = np.array([0, 2, 5]), (2, 3)
    x = torch.tensor([[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]])  # variable a's cells, then b's
    g = ToGrid(flat, shape, n_variables=2)(x)
    assert g.shape == (1, 3, 2, 3)
    np.testing.assert_array_equal(g[0, 0].numpy(), [[1, 0, 2], [0, 0, 3]])
    np.testing.assert_array_equal(g[0, 1].numpy(), [[10, 0, 20], [0, 0, 30]])
    np.testing.assert_array_equal(g[0, 2].numpy(), [[1, 0, 1], [0, 0, 1]])  # the mask


def test_cnn_of_two_variables_reads_both():
    torch.manual_seed(0)
    net = CNN(np.arange(12), (3, 4), channels=(4,), hidden=8, n_variables=2)
    x = torch.randn(5, 24)
    y = net(x)
    assert y.shape == (5, 1)
    x2 = x.clone()
    x2[:, 12:] = 0  # the second variable changes the output
    assert not torch.allclose(net(x2), y)
