"""The architecture protocol and registry: networks built by name from plain keyword arguments.

Every network takes the stacked valid cells ``(batch, d)`` and returns ``(batch, 1)``, and is
built from keyword arguments that can be saved as text, so a model file stores a name and
numbers, never code. Activations are modules, one instance per use — captum's DeepLIFT and
LRP attach hooks per module and are silently wrong when a module is reused or an activation
is a functional call.

A new architecture is one module and one registration line,
``ARCHITECTURES.register("name", Architecture(module_class, grid_inputs, description))``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..grid import CellIndex
from ..registry import Registry

__all__ = ["ACTIVATIONS", "ARCHITECTURES", "Architecture", "build_module", "make_activation"]

#: activation name → module class (one instance per use)
ACTIVATIONS: Registry[type[nn.Module]] = Registry("activation", description=lambda c: c.__name__)
for _name, _cls in {"relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh, "gelu": nn.GELU,
                    "softplus": nn.Softplus, "leaky_relu": nn.LeakyReLU}.items():
    ACTIVATIONS.register(_name, _cls)


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name."""
    return ACTIVATIONS.get(name)()


@dataclass(frozen=True)
class Architecture:
    """A network family: its module class, the keyword arguments it derives from the grid
    (never stored twice in a file), whether :func:`xattrib.fit` may train it, and a line
    for the docs. ``grid_inputs(cells)`` may take a second argument, the number of input
    variables (read as each one's cells in turn), to accept several."""

    module: Callable[..., nn.Module]
    grid_inputs: Callable[..., dict[str, Any]]
    description: str = ""
    trainable: bool = True


#: name → :class:`Architecture` (a model file may name only these)
ARCHITECTURES: Registry[Architecture] = Registry(
    "architecture", extra=", a factory function, its name 'package.module:function', or a "
                          "torch.nn.Module")


def build_module(arch: str, cells: CellIndex, n_variables: int = 1, **kwargs: Any
                 ) -> nn.Module:
    """Build a registered network on ``cells`` from plain keyword arguments (reading
    ``n_variables`` fields: each one's valid cells in turn).

    Never imports anything: a user's factory is resolved by :meth:`xattrib.Model.build`
    (named in the caller's own code) or :meth:`xattrib.Model.load` (supplied or approved by
    the caller), not from here.
    """
    a = ARCHITECTURES.get(arch)
    if n_variables == 1:
        grid = a.grid_inputs(cells)
    else:
        try:  # a member reads several variables if its grid_inputs takes their number
            inspect.signature(a.grid_inputs).bind(cells, n_variables)
        except TypeError:
            raise ValueError(f"architecture {arch!r} reads one variable (its grid_inputs "
                             "takes no n_variables); these data have "
                             f"{n_variables}") from None
        grid = a.grid_inputs(cells, n_variables)
    clash = set(kwargs) & set(grid)
    if clash:
        raise ValueError(f"{sorted(clash)} come from the data's grid; do not pass them")
    return a.module(**grid, **kwargs)
