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

__all__ = ["CellwiseLinear", "ExactInteracting", "ExactResponse", "GatedSum", "PairProducts"]

#: up to this many cells the first layer is an ordinary ``nn.Linear`` (d·h × d, mostly
#: zeros); above it a :class:`CellwiseLinear` (d·h weights), since the dense matrix grows as
#: d² (52 GB at 1°). Both compute the same numbers.
DENSE_FIRST_LAYER_MAX = 2048


class CellwiseLinear(nn.Linear):
    """``y[:, u] = weight[u] · x[:, u // h] + bias[u]``: h units per input, each reading its
    own input alone (a block-diagonal Linear stored without its zeros).

    An ``nn.Linear`` subclass so that captum's LRP treats it as one: its rules scale
    ``weight`` and use the layer's input and output, which hold for any layer linear in its
    input (written here because neither torch nor captum has a grouped elementwise Linear).
    """

    def __init__(self, n_inputs: int, per_input: int) -> None:
        nn.Module.__init__(self)
        self.in_features, self.out_features = int(n_inputs), int(n_inputs) * int(per_input)
        self.per_input = int(per_input)
        self.weight = nn.Parameter(torch.zeros(self.out_features))
        self.bias = nn.Parameter(torch.zeros(self.out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.repeat_interleave(x, self.per_input, dim=-1) * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, per_input={self.per_input}"


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
        first = (nn.Linear(n_inputs, h) if n_inputs <= DENSE_FIRST_LAYER_MAX else
                 CellwiseLinear(n_inputs, h // n_inputs))
        super().__init__(first, act, nn.Linear(h, 1))
        for p in self.parameters():
            nn.init.zeros_(p)
        self.family, self.n_knots = family, int(n_knots)

    @classmethod
    def from_response(cls, response: Response, scale: float) -> ExactResponse:
        """The network of a benchmark's response (see :func:`generator_from_dataset`)."""
        net = cls(response.n_cells, response.name, response.exact_shape())
        w_in, b_in, w_out, b_out = response.exact_layers()
        first, last = cast(nn.Linear, net[0]), cast(nn.Linear, net[2])
        if not isinstance(first, CellwiseLinear):  # the same weights as a dense matrix
            d = response.n_cells
            dense = np.zeros((w_in.size, d))
            dense[np.arange(w_in.size), np.arange(w_in.size) // (w_in.size // d)] = w_in
            w_in = dense
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


class PairProducts(nn.Module):
    """``(batch, d)`` → ``(batch,)``: Σ_pairs c · x[i]ᵖ · x[j]^q (the ``pairs`` family's
    interaction), written with torch's own ``pow`` so autograd gives its exact gradient.

    A custom module: no torch layer multiplies two inputs. DeepLIFT and LRP have no rule
    for it (DeepLIFT then falls back on its gradient; captum's LRP refuses the network).
    """

    lead: torch.Tensor
    part: torch.Tensor
    coupling: torch.Tensor
    p: torch.Tensor
    q: torch.Tensor

    def __init__(self, lead: np.ndarray, part: np.ndarray, coupling: np.ndarray,
                 p: np.ndarray, q: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("lead", torch.as_tensor(lead, dtype=torch.long))
        self.register_buffer("part", torch.as_tensor(part, dtype=torch.long))
        for name, v in (("coupling", coupling), ("p", p), ("q", q)):
            self.register_buffer(name, torch.as_tensor(v, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, v = x[:, self.lead], x[:, self.part]
        return (self.coupling * u.pow(self.p) * v.pow(self.q)).sum(-1)


class GatedSum(nn.Module):
    """``(batch, d)`` → ``(batch,)``: G(a·x)·(w·x), G = σ((m − τ)/s) or, for s = 0, the
    step 1[m > τ] (whose gradient is 0: gradient methods cannot see the jump)."""

    a: torch.Tensor
    w: torch.Tensor

    def __init__(self, a: np.ndarray, w: np.ndarray, threshold: float, width: float) -> None:
        super().__init__()
        self.register_buffer("a", torch.as_tensor(a, dtype=torch.float32))
        self.register_buffer("w", torch.as_tensor(w, dtype=torch.float32))
        self.threshold, self.width = float(threshold), float(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x @ self.a
        g = (torch.sigmoid((m - self.threshold) / self.width) if self.width > 0
             else (m > self.threshold).to(x.dtype))
        return g * (x @ self.w)


class ExactInteracting(nn.Module):
    """``(batch, d)`` → ``(batch, 1)`` = scale · F(x) of an interacting response: its
    additive part as an :class:`ExactResponse` plus the interaction term's module."""

    def __init__(self, additive: ExactResponse, term: nn.Module, scale: float) -> None:
        super().__init__()
        self.additive, self.term, self.scale = additive, term, float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.additive(x) + self.scale * self.term(x)[:, None]

    @classmethod
    def from_response(cls, response: Any, scale: float) -> ExactInteracting:
        if response.name == "pairs":
            lead, part = response._lead, response._part
            term: nn.Module = PairProducts(lead, part, response._c, response._p, response._q)
        elif response.name == "gating":
            term = GatedSum(response.params["gate_weight"], response.params["gated_weight"],
                            float(response.params["threshold"]),
                            float(response.params["width"]))
        else:
            raise ValueError(f"no exact network for response family {response.name!r}")
        return cls(ExactResponse.from_response(response.additive_part, scale), term,
                   scale).eval()


def _grid_inputs(cells: CellIndex, n_variables: int = 1) -> dict[str, Any]:
    return {"n_inputs": cells.n_cells * n_variables}


ARCHITECTURES.register("exact", Architecture(
    ExactResponse, _grid_inputs, "the benchmark's own F as a network (Model.exact); not "
                                 "trained", trainable=False))
