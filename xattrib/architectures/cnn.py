"""``cnn``: a convolutional network on the grid, invalid cells 0 with a mask channel."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..grid import CellIndex
from .base import ARCHITECTURES, Architecture, make_activation

__all__ = ["CNN", "ToGrid"]


class ToGrid(nn.Module):
    """Stacked cells ``(b, V·d)`` → ``(b, V + 1, ny, nx)``: each variable's field (0 on
    invalid cells) as a channel, and a mask."""

    flat: torch.Tensor
    mask: torch.Tensor

    def __init__(self, flat: np.ndarray, shape: tuple[int, int], n_variables: int = 1) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        self.n_variables = int(n_variables)
        size = self.shape[0] * self.shape[1]
        flat = np.asarray(flat)
        every = np.concatenate([flat + v * size for v in range(self.n_variables)])
        self.register_buffer("flat", torch.as_tensor(every, dtype=torch.long))
        mask = torch.zeros(size)
        mask[torch.as_tensor(flat, dtype=torch.long)] = 1.0
        self.register_buffer("mask", mask.view(1, 1, *self.shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.shape[0] * self.shape[1]
        grid = x.new_zeros(x.shape[0], self.n_variables * size)
        grid = grid.index_copy(1, self.flat, x)
        grid = grid.view(x.shape[0], self.n_variables, *self.shape)
        return torch.cat([grid, self.mask.expand(x.shape[0], -1, -1, -1)], dim=1)


class CNN(nn.Sequential):
    """Convolutional network on the grid: invalid cells are 0 with a mask channel.

    ``periodic_lon=True`` pads longitude circularly (global grids), latitude with zeros.
    Pooling is average pooling (linear, so DeepLIFT and LRP rules stay exact). Several
    input variables (``n_variables``, read as each one's cells in turn) are channels.
    """

    def __init__(self, flat: np.ndarray | list[int], shape: tuple[int, int] | list[int],
                 channels: tuple[int, ...] | list[int] = (16, 32), kernel_size: int = 3,
                 hidden: int = 64, activation: str = "relu", periodic_lon: bool = False,
                 n_variables: int = 1) -> None:
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        p = kernel_size // 2
        layers: list[nn.Module] = [ToGrid(np.asarray(flat), (int(shape[0]), int(shape[1])),
                                          int(n_variables))]
        cin, (ny, nx) = int(n_variables) + 1, (int(shape[0]), int(shape[1]))
        for i, c in enumerate(channels):
            if periodic_lon:
                layers += [nn.CircularPad2d((p, p, 0, 0)), nn.ZeroPad2d((0, 0, p, p))]
            else:
                layers.append(nn.ZeroPad2d(p))
            layers += [nn.Conv2d(cin, int(c), kernel_size), make_activation(activation)]
            cin = int(c)
            if i < len(channels) - 1 and min(ny, nx) >= 4:
                layers.append(nn.AvgPool2d(2))
                ny, nx = ny // 2, nx // 2
        layers += [nn.Flatten(), nn.Linear(cin * ny * nx, int(hidden)), make_activation(activation),
                   nn.Linear(int(hidden), 1)]
        super().__init__(*layers)


def _grid_inputs(cells: CellIndex, n_variables: int = 1) -> dict[str, Any]:
    return {"flat": cells.image_flat, "shape": cells.shape,
            **({"n_variables": n_variables} if n_variables > 1 else {})}


ARCHITECTURES.register("cnn", Architecture(
    CNN, _grid_inputs, "convolutions on the grid (land 0 plus a mask channel), average "
                       "pooling, optional periodic longitude"))
