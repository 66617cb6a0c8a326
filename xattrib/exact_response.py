"""The benchmark's own response y = scale · Σᵢ Fᵢ(xᵢ) as a torch network.

Running attribution methods on the *true* function separates two sources of error that no
peer tool separates: the method's own (on exact F, IG is exact while Input×Gradient is
capped) and the trained network's. See :meth:`xattrib.Model.exact`.

Each family is written as a plain ``Linear → activation → Linear`` stack, so every captum
method works on it, LRP included, and DeepLIFT's rescale rule is exact unit by unit:

- ``pwl``: Fᵢ(x) = w₀x + Σₖ Δₖ·ReLU(x − bₖ) + cᵢ with Δₖ the slope change at knot bₖ and
  cᵢ making Fᵢ(0) = 0. The linear part is w₀·(ReLU(x − t) − ReLU(t − x)) + w₀t with t one
  below the lowest knot: centred at 0 it would have zero gradient at x = 0, which is a knot
  and the usual baseline. Hidden units: K + 2 per cell. At a knot, torch's ReLU has
  derivative 0, so gradients use the slope of the segment on the *left* (the left
  derivative); at the single point x = t the linear part's gradient is 0.
- ``linear``: wᵢx the same way, with t = −1.
- ``tanh``: aᵢ·[tanh(cᵢ(x − tᵢ)) + tanh(cᵢtᵢ)] as a diagonal Linear, Tanh, Linear.

Every hidden unit reads one cell, so for any baseline b the exact attribution of cell i is
Fᵢ(xᵢ) − Fᵢ(bᵢ), which is what the benchmark's ``truth`` holds.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from torch import nn

from .responses import Response

__all__ = ["ExactResponse"]


def _hidden_per_cell(family: str, n_knots: int) -> int:
    return {"pwl": n_knots + 2, "linear": 2, "tanh": 1}[family]


class ExactResponse(nn.Sequential):
    """``(batch, d)`` valid cells → ``(batch, 1)`` = scale · Σᵢ Fᵢ(xᵢ), exactly.

    Build it with :meth:`from_response`; the constructor makes the right shapes with zero
    weights (what :meth:`xattrib.Model.load` fills from a saved state dict).
    """

    def __init__(self, n_inputs: int, family: str, n_knots: int = 0) -> None:
        if family not in ("pwl", "linear", "tanh"):
            raise ValueError(f"no exact network for response family {family!r}; families: "
                             "pwl, linear, tanh")
        h = _hidden_per_cell(family, n_knots) * n_inputs
        act: nn.Module = nn.Tanh() if family == "tanh" else nn.ReLU()
        super().__init__(nn.Linear(n_inputs, h), act, nn.Linear(h, 1))
        for p in self.parameters():
            nn.init.zeros_(p)
        self.family, self.n_knots = family, int(n_knots)

    @classmethod
    def from_response(cls, response: Response, scale: float) -> ExactResponse:
        """The network of a benchmark's response (see :func:`generator_from_dataset`)."""
        p = response.params
        d = response.n_cells
        cells = np.arange(d)
        if response.name == "tanh":
            a, t, c = p["amplitude"], p["threshold"], p["steepness"]
            w_in = np.diag(c)
            b_in = -c * t
            w_out = a * scale
            b_out = scale * float(np.sum(a * np.tanh(c * t)))
            net = cls(d, "tanh")
        else:
            if response.name == "pwl":
                bp, slopes = p["breakpoints"], p["slopes"]
                k = bp.shape[1]
                delta = np.diff(slopes, axis=1)                    # (d, K) slope changes
                w0 = slopes[:, 0]                                  # slope left of every knot
                const = -(delta * np.maximum(-bp, 0.0)).sum(1)     # makes F(0) = 0
                t = bp.min(1) - 1.0
            elif response.name == "linear":
                k, bp, delta, w0 = 0, np.zeros((d, 0)), np.zeros((d, 0)), p["weights"]
                const, t = np.zeros(d), np.full(d, -1.0)
            else:
                raise ValueError(f"no exact network for response family {response.name!r}")
            per = k + 2
            w_in = np.zeros((d * per, d))
            b_in = np.zeros(d * per)
            w_out = np.zeros(d * per)
            rows = cells * per
            for j in range(k):                     # ReLU(x - b_k), weight Δ_k
                w_in[rows + j, cells] = 1.0
                b_in[rows + j] = -bp[:, j]
                w_out[rows + j] = delta[:, j]
            w_in[rows + k, cells] = 1.0            # w0 · ReLU(x - t)
            b_in[rows + k] = -t
            w_out[rows + k] = w0
            w_in[rows + k + 1, cells] = -1.0       # -w0 · ReLU(t - x)
            b_in[rows + k + 1] = t
            w_out[rows + k + 1] = -w0
            w_out = w_out * scale
            b_out = scale * float((const + w0 * t).sum())
            net = cls(d, response.name, k)
        first, last = cast(nn.Linear, net[0]), cast(nn.Linear, net[2])
        with torch.no_grad():
            first.weight.copy_(torch.as_tensor(w_in, dtype=torch.float32))
            first.bias.copy_(torch.as_tensor(b_in, dtype=torch.float32))
            last.weight.copy_(torch.as_tensor(np.asarray(w_out)[None], dtype=torch.float32))
            last.bias.fill_(b_out)
        return net.eval()

    def arch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this network's shapes (what a saved model stores)."""
        return {"family": self.family, "n_knots": self.n_knots}
