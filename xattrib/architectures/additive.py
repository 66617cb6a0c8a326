"""``additive``: a neural additive model, y = Σᵢ gᵢ(xᵢ) + c — a glass box.

One small subnetwork per cell, its weights shared between cells and told apart by a learnt
per-cell embedding eᵢ: gᵢ(x) = g(x, eᵢ). Because the network is a sum of one-cell terms, its
*own* exact attribution relative to any baseline is known after training,
gᵢ(xᵢ) − gᵢ(bᵢ) (:meth:`xattrib.Model.own_attribution`), so an attribution method's error
against the truth splits into the explainer's (method vs the network's own contributions) and
the learning's (the network's own vs the truth): :func:`xattrib.scoring.split_error`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..grid import CellIndex
from .base import ARCHITECTURES, Architecture, make_activation

__all__ = ["Additive"]


class Additive(nn.Module):
    """``(batch, d)`` → ``(batch, 1)`` = Σᵢ g([xᵢ, eᵢ]) + c.

    Parameters
    ----------
    n_inputs : int
        Cells d.
    hidden : tuple of int
        Widths of the shared subnetwork's hidden layers.
    embedding : int
        Size of each cell's learnt embedding eᵢ (0: one function for every cell).
    activation : str
        Between the subnetwork's layers.

    Memory: the subnetwork runs on batch × d rows; at 450 cells and batch 1024 its widest
    activation is 460,800 × 32 floats (59 MB).

    Examples
    --------
    >>> import torch
    >>> net = Additive(5, hidden=(8,), embedding=2)
    >>> x = torch.randn(3, 5)
    >>> bool(torch.allclose(net(x)[:, 0], net.contributions(x).sum(1) + net.bias))
    True
    """

    def __init__(self, n_inputs: int, hidden: tuple[int, ...] | list[int] = (32, 32),
                 embedding: int = 8, activation: str = "relu") -> None:
        super().__init__()
        if n_inputs < 1:
            raise ValueError(f"n_inputs must be positive, got {n_inputs}")
        if int(embedding) < 0:
            raise ValueError(f"embedding must be 0 or more, got {embedding}")
        self.embedding = nn.Parameter(torch.randn(int(n_inputs), int(embedding)))
        layers: list[nn.Module] = []
        width = 1 + int(embedding)
        for h in hidden:
            if int(h) < 1:
                raise ValueError(f"hidden widths must be positive, got {list(hidden)}")
            layers += [nn.Linear(width, int(h)), make_activation(activation)]
            width = int(h)
        last = nn.Linear(width, 1)
        with torch.no_grad():  # d terms are summed: keep the sum's initial spread near 1
            last.weight.mul_(1.0 / math.sqrt(n_inputs))
            last.bias.zero_()
        self.shared = nn.Sequential(*layers, last)
        self.bias = nn.Parameter(torch.zeros(1))

    def contributions(self, x: torch.Tensor) -> torch.Tensor:
        """gᵢ(xᵢ) for every cell: ``(batch, d)`` → ``(batch, d)``."""
        n, d = x.shape
        emb = self.embedding.unsqueeze(0).expand(n, d, self.embedding.shape[1])
        return self.shared(torch.cat([x.unsqueeze(-1), emb], -1)).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.contributions(x).sum(-1, keepdim=True) + self.bias


def _grid_inputs(cells: CellIndex, n_variables: int = 1) -> dict[str, Any]:
    return {"n_inputs": cells.n_cells * n_variables}


ARCHITECTURES.register("additive", Architecture(
    Additive, _grid_inputs, "neural additive model Σᵢ g(xᵢ, eᵢ): a shared subnetwork with a "
                            "per-cell embedding; its own exact attribution is known "
                            "(Model.own_attribution)"))
