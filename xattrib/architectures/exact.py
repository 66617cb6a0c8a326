"""The benchmark's own response y = scale · Σᵢ Fᵢ(xᵢ) as a torch network.

Running attribution methods on the *true* function separates two sources of error that no
peer tool separates: the method's own (on exact F, IG is exact while Input×Gradient is
capped) and the trained network's. See :meth:`xattrib.Model.exact`.

Each family is written as a plain ``Linear → activation → Linear`` stack, so every captum
method works on it, LRP included, and DeepLIFT's rescale rule is exact unit by unit; the
family's own module writes the layers (``pwl`` and ``linear`` as ReLU ramps, K + 2 units per
cell, whose gradient at a knot is the slope on the *left*; ``tanh`` as a diagonal Linear,
Tanh, Linear).

Every hidden unit reads one cell, so for any baseline b the exact attribution of cell i is
Fᵢ(xᵢ) − Fᵢ(bᵢ), which is what the benchmark's ``truth`` holds.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..grid import CellIndex
from ..responses import RESPONSES, Response
from .base import ARCHITECTURES, Architecture

__all__ = ["ExactResponse"]


class ExactResponse(nn.Sequential):
    """``(batch, d)`` valid cells → ``(batch, 1)`` = scale · Σᵢ Fᵢ(xᵢ), exactly.

    Build it with :meth:`from_response`; the constructor makes the right shapes with zero
    weights (what :meth:`xattrib.Model.load` fills from a saved state dict). Each response
    family writes its own layers (:meth:`xattrib.responses.Response.exact_layers`).
    """

    def __init__(self, n_inputs: int, family: str, n_knots: int = 0) -> None:
        cls = RESPONSES.get(family)
        try:
            h = cls.exact_hidden(n_knots) * n_inputs
        except NotImplementedError:
            raise ValueError(f"no exact network for response family {family!r}") from None
        act: nn.Module = {"relu": nn.ReLU, "tanh": nn.Tanh}[cls.exact_activation]()
        super().__init__(nn.Linear(n_inputs, h), act, nn.Linear(h, 1))
        for p in self.parameters():
            nn.init.zeros_(p)
        self.family, self.n_knots = family, int(n_knots)

    @classmethod
    def from_response(cls, response: Response, scale: float) -> ExactResponse:
        """The network of a benchmark's response (see :func:`generator_from_dataset`)."""
        net = cls(response.n_cells, response.name, response.exact_shape())
        w_in, b_in, w_out, b_out = response.exact_layers()
        first, last = cast(nn.Linear, net[0]), cast(nn.Linear, net[2])
        with torch.no_grad():
            first.weight.copy_(torch.as_tensor(w_in, dtype=torch.float32))
            first.bias.copy_(torch.as_tensor(b_in, dtype=torch.float32))
            last.weight.copy_(torch.as_tensor(np.asarray(w_out)[None] * scale,
                                              dtype=torch.float32))
            last.bias.fill_(scale * b_out)
        return net.eval()

    def arch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this network's shapes (what a saved model stores)."""
        return {"family": self.family, "n_knots": self.n_knots}


def _grid_inputs(cells: CellIndex) -> dict[str, Any]:
    return {"n_inputs": cells.n_cells}


ARCHITECTURES.register("exact", Architecture(
    ExactResponse, _grid_inputs, "the benchmark's own F as a network (Model.exact); not "
                                 "trained", trainable=False))
