"""Users' own torch networks, wrapped to read stacked valid cells and return one output.

:meth:`xattrib.Model.from_module` builds a :class:`ModuleSpec` (how the user's module reads
its input and what it returns) and :class:`Wrapped` is the network attribution methods see:
``(batch, C·d)`` valid cells of C variables → normalise → (for grid layouts) scatter onto the
grid with invalid cells filled → the user's module → pick one output → de-normalise →
``(batch, 1)``. Every step outside the user's module is linear, so DeepLIFT, IG and the
perturbation methods see exactly the user's network.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["LAYOUTS", "ModuleSpec", "Wrapped", "import_factory", "probe_input"]

#: how a user's module reads its input: stacked valid cells (variables concatenated), one
#: field (batch, lat, lon), or channels (batch, variable, lat, lon)
LAYOUTS = ("cells", "grid", "grid_channels")


@dataclass
class ModuleSpec:
    """How to call a user's module (stored with a saved model as plain values)."""

    layout: str = "cells"
    fill_value: float = 0.0
    n_outputs: int = 1
    squeeze: bool = False          # the module returns (batch,) rather than (batch, k)
    factory: str | None = None     # "package.module:function" that rebuilds the module
    factory_kwargs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def import_factory(path: str) -> Any:
    """The callable named ``"package.module:function"``."""
    if not isinstance(path, str) or ":" not in path:
        raise ValueError(f"factory must be 'package.module:function', got {path!r}")
    mod, _, name = path.partition(":")
    try:
        obj: Any = importlib.import_module(mod)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot import the model factory {path!r}: {err}. It must be "
                         "importable where the model is loaded (an installed package or a "
                         "module on sys.path)") from None
    if not callable(obj):
        raise ValueError(f"the model factory {path!r} is not callable")
    return obj


class Wrapped(nn.Module):
    """Stacked valid cells ``(b, C·d)`` → the user's module → output ``k`` → ``(b, 1)``."""

    def __init__(self, module: nn.Module, spec: ModuleSpec, flat: np.ndarray,
                 shape: tuple[int, int], n_vars: int, x_mean: np.ndarray, x_std: np.ndarray,
                 y_mean: float, y_std: float, output: int) -> None:
        super().__init__()
        self.module = module
        self.layout, self.n_vars = spec.layout, int(n_vars)
        self.shape = (int(shape[0]), int(shape[1]))
        self.output, self.squeeze = int(output), spec.squeeze
        self.register_buffer("flat", torch.as_tensor(np.asarray(flat), dtype=torch.long))
        self.register_buffer("x_mean", torch.as_tensor(np.asarray(x_mean), dtype=torch.float32))
        self.register_buffer("x_inv_std", 1.0 / torch.as_tensor(np.asarray(x_std),
                                                                 dtype=torch.float32))
        self.y_mean, self.y_std = float(y_mean), float(y_std)
        self.fill = float(spec.fill_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.x_mean) * self.x_inv_std
        if self.layout != "cells":
            b, size = z.shape[0], self.shape[0] * self.shape[1]
            d = self.flat.numel()
            grid = z.new_full((b, self.n_vars, size), self.fill)
            grid = grid.index_copy(2, self.flat, z.view(b, self.n_vars, d))
            z = grid.view(b, self.n_vars, *self.shape)
            if self.layout == "grid":
                z = z[:, 0]
        out = self.module(z)
        if out.ndim == 1:
            out = out[:, None]
        return out[:, self.output:self.output + 1] * self.y_std + self.y_mean


def probe_input(net: Wrapped, n: int) -> torch.Tensor:
    """A zero batch in the layout the wrapped module reads (to check its shapes)."""
    d = net.flat.numel()
    with torch.no_grad():
        z = torch.zeros(n, net.n_vars * d)
        if net.layout == "cells":
            return z
        grid = z.new_full((n, net.n_vars, net.shape[0] * net.shape[1]), net.fill)
        grid = grid.view(n, net.n_vars, *net.shape)
        return grid[:, 0] if net.layout == "grid" else grid
