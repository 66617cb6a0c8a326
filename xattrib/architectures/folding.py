"""Normalisation folded into a network, so attribution methods see raw inputs and outputs."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["fold_normalisation"]


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
            per = getattr(first, "per_input", None)  # a CellwiseLinear: unit u reads u // h
            if per is not None:
                mean, std = mean.repeat_interleave(per), std.repeat_interleave(per)
                first.bias.sub_(first.weight * (mean / std))
            else:
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
