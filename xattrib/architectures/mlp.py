"""``mlp``: fully connected layers, by default the original benchmark network of Mamalakis et
al. (2022), d → 512 → 256 → 128 → 64 → 32 → 16 → 1 with ReLU."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..grid import CellIndex
from .base import ARCHITECTURES, Architecture, make_activation

__all__ = ["DEFAULT_HIDDEN", "MLP"]

#: the network of Mamalakis et al. (2022)
DEFAULT_HIDDEN = (512, 256, 128, 64, 32, 16)


class MLP(nn.Sequential):
    """Fully connected d → hidden… → 1 with an activation module after every hidden layer.

    The default is the original benchmark network d→512→256→128→64→32→16→1 with ReLU.

    Examples
    --------
    >>> import torch
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
            layers += [nn.Linear(width, int(h)), make_activation(activation)]
            width = int(h)
        layers.append(nn.Linear(width, 1))
        super().__init__(*layers)


def _grid_inputs(cells: CellIndex, n_variables: int = 1) -> dict[str, Any]:
    return {"n_inputs": cells.n_cells * n_variables}


ARCHITECTURES.register("mlp", Architecture(
    MLP, _grid_inputs, "fully connected; default d→512→256→128→64→32→16→1, ReLU "
                       "(Mamalakis et al. 2022)"))
