"""Network architectures, built from plain keyword arguments (so they can be saved as text).

Every network takes the stacked valid cells ``(batch, d)`` and returns ``(batch, 1)``.
Activations are modules, one instance per use — captum's DeepLIFT and LRP attach hooks per
module and are silently wrong when a module is reused or an activation is a functional call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .exact_response import ExactResponse

__all__ = ["ACTIVATIONS", "ARCHITECTURES", "CNN", "FILE_ARCHITECTURES", "MLP", "build_module",
           "fold_normalisation"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh, "gelu": nn.GELU, "softplus": nn.Softplus,
    "leaky_relu": nn.LeakyReLU,
}

#: the network of Mamalakis et al. (2022)
DEFAULT_HIDDEN = (512, 256, 128, 64, 32, 16)


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLP(nn.Sequential):
    """Fully connected d → hidden… → 1 with an activation module after every hidden layer.

    The default is the original benchmark network d→512→256→128→64→32→16→1 with ReLU.

    Examples
    --------
    >>> net = MLP(450)
    >>> net(torch.zeros(2, 450)).shape
    torch.Size([2, 1])
    >>> sum(isinstance(m, nn.ReLU) for m in net)
    6
    """

    def __init__(self, n_inputs: int, hidden: tuple[int, ...] | list[int] = DEFAULT_HIDDEN,
                 activation: str = "relu") -> None:
        if n_inputs < 1:
            raise ValueError(f"n_inputs must be positive, got {n_inputs}")
        layers: list[nn.Module] = []
        width = n_inputs
        for h in hidden:
            if int(h) < 1:
                raise ValueError(f"hidden widths must be positive, got {list(hidden)}")
            layers += [nn.Linear(width, int(h)), _activation(activation)]
            width = int(h)
        layers.append(nn.Linear(width, 1))
        super().__init__(*layers)


class ToGrid(nn.Module):
    """Stacked cells ``(b, d)`` → ``(b, 2, ny, nx)``: the field (0 on invalid cells) and a mask."""

    flat: torch.Tensor
    mask: torch.Tensor

    def __init__(self, flat: np.ndarray, shape: tuple[int, int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.register_buffer("flat", torch.as_tensor(np.asarray(flat), dtype=torch.long))
        mask = torch.zeros(self.shape[0] * self.shape[1])
        mask[self.flat] = 1.0
        self.register_buffer("mask", mask.view(1, 1, *self.shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = x.new_zeros(x.shape[0], self.shape[0] * self.shape[1])
        grid = grid.index_copy(1, self.flat, x)
        grid = grid.view(x.shape[0], 1, *self.shape)
        return torch.cat([grid, self.mask.expand(x.shape[0], -1, -1, -1)], dim=1)


class CNN(nn.Sequential):
    """Convolutional network on the grid: invalid cells are 0 with a mask channel.

    ``periodic_lon=True`` pads longitude circularly (global grids), latitude with zeros.
    Pooling is average pooling (linear, so DeepLIFT and LRP rules stay exact).
    """

    def __init__(self, flat: np.ndarray | list[int], shape: tuple[int, int] | list[int],
                 channels: tuple[int, ...] | list[int] = (16, 32), kernel_size: int = 3,
                 hidden: int = 64, activation: str = "relu", periodic_lon: bool = False) -> None:
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        p = kernel_size // 2
        layers: list[nn.Module] = [ToGrid(np.asarray(flat), (int(shape[0]), int(shape[1])))]
        cin, (ny, nx) = 2, (int(shape[0]), int(shape[1]))
        for i, c in enumerate(channels):
            if periodic_lon:
                layers += [nn.CircularPad2d((p, p, 0, 0)), nn.ZeroPad2d((0, 0, p, p))]
            else:
                layers.append(nn.ZeroPad2d(p))
            layers += [nn.Conv2d(cin, int(c), kernel_size), _activation(activation)]
            cin = int(c)
            if i < len(channels) - 1 and min(ny, nx) >= 4:
                layers.append(nn.AvgPool2d(2))
                ny, nx = ny // 2, nx // 2
        layers += [nn.Flatten(), nn.Linear(cin * ny * nx, int(hidden)), _activation(activation),
                   nn.Linear(int(hidden), 1)]
        super().__init__(*layers)


ARCHITECTURES: dict[str, Any] = {"mlp": MLP, "cnn": CNN}


def build_module(arch: str, **kwargs: Any) -> nn.Module:
    """Build one of xattrib's own networks by registry name from plain keyword arguments.

    Never imports anything: a user's factory is resolved by :meth:`xattrib.Model.build`
    (named in the caller's own code) or :meth:`xattrib.Model.load` (supplied or approved by
    the caller), not from here.
    """
    if arch == "exact":  # the benchmark's own F (xattrib.Model.exact); shapes only here
        return ExactResponse(**kwargs)
    if arch not in ARCHITECTURES:
        from ._names import closest_hint

        raise ValueError(f"unknown architecture {arch!r};{closest_hint(arch, ARCHITECTURES)} "
                         f"choose from {sorted(ARCHITECTURES)}, a factory "
                         "'package.module:function', a callable or a torch.nn.Module")
    return ARCHITECTURES[arch](**kwargs)


#: architectures a model file may name (rebuilt from the registry, never by import)
FILE_ARCHITECTURES: dict[str, Any] = {**ARCHITECTURES, "exact": ExactResponse}


def fold_normalisation(module: nn.Module, x_mean: np.ndarray, x_std: np.ndarray,
                       y_mean: float, y_std: float) -> nn.Module:
    """A copy of ``module`` that takes raw inputs and returns raw outputs.

    For an MLP, input standardisation is folded into the first Linear layer and output
    de-standardisation into the last, so the network to explain is still a plain stack of
    Linear and activation modules — the only form every captum method (LRP included)
    accepts. Other architectures get affine modules in front and behind.
    """
    import copy

    net = copy.deepcopy(module).float()
    mean = torch.as_tensor(np.asarray(x_mean), dtype=torch.float32)
    std = torch.as_tensor(np.asarray(x_std), dtype=torch.float32)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    # any plain Sequential that starts and ends with a Linear layer takes the folding
    plain = isinstance(net, nn.Sequential) and len(net) > 0 and isinstance(
        net[0], nn.Linear) and isinstance(net[-1], nn.Linear) and net[-1].out_features == 1
    with torch.no_grad():
        if plain:
            first, last = linears[0], linears[-1]
            first.bias.sub_(first.weight @ (mean / std))
            first.weight /= std
            last.weight *= y_std
            last.bias.mul_(y_std).add_(y_mean)
            return net
    return nn.Sequential(_Affine(1.0 / std, -mean / std), net, _Affine(
        torch.tensor([y_std]), torch.tensor([y_mean])))


class _Affine(nn.Module):
    scale: torch.Tensor
    shift: torch.Tensor

    def __init__(self, scale: torch.Tensor, shift: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale.float())
        self.register_buffer("shift", shift.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift
