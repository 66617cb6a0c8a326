"""One transform per input variable: TRIM for a network of several variables.

A network that reads several fields (SST and SLP, one field at several lags) is explained
over each variable's own features: the built-in transform is built for each variable
(on the shared grid; EOFs fitted on each variable's own data) and applied to that
variable's cells, so T is block-diagonal and each feature belongs to one variable. This
is a composite, not a member of the registry: ``trim`` builds it when a model of several
variables is explained over a transform given by name.
"""

from __future__ import annotations

from typing import Any

import torch
import xarray as xr
from torch import nn

__all__ = ["PerVariable"]


class PerVariable(nn.Module):
    """``parts[v]`` on variable v's ``d`` cells, the variables' cells end to end.

    ``forward``: ``(batch, V·d)`` → ``(batch, V·p)``; ``inverse`` back. Every part must have
    the same features (the same transform on the same grid): the result then holds, per
    variable, the attribution to the same groups.

    Examples
    --------
    >>> import torch
    >>> from xattrib.grid import make_grid
    >>> from xattrib.grid.cells import CellIndex
    >>> from xattrib.transforms import Fourier
    >>> cells = CellIndex.from_mask(make_grid(30.0)["mask"])
    >>> t = PerVariable([Fourier(cells), Fourier(cells)], ["sst", "slp"])
    >>> x = torch.randn(3, 2 * cells.n_cells, dtype=torch.float64)
    >>> bool(torch.allclose(t.inverse(t.forward(x)), x))
    True
    """

    def __init__(self, parts: list[Any], variables: list[str]) -> None:
        super().__init__()
        if len(parts) != len(variables) or len(parts) < 2:
            raise ValueError("PerVariable needs one transform per variable, two or more")
        first = parts[0].features
        for v, part in zip(variables[1:], parts[1:], strict=True):
            f = part.features
            if f.dims != first.dims or f.size != first.size:
                raise ValueError(f"the transform of {v!r} has features {dict(f.sizes)}, that of "
                                 f"{variables[0]!r} {dict(first.sizes)}: every variable "
                                 "needs the same features")
        self.parts = nn.ModuleList(parts) if all(isinstance(p, nn.Module) for p in parts) \
            else parts
        self.variables = list(variables)
        self.d = int(parts[0].cells.n_cells)
        self.p = int(first.size)
        self.name = str(getattr(parts[0], "name", type(parts[0]).__name__))
        fdim = str(first.dims[0])
        n = len(parts)
        # the protocol's 1-D feature coordinate: every variable's features in turn
        self.features = xr.DataArray(
            [str(v) for v in first.values] * n, dims=("feature",),
            coords={"input_variable": ("feature", [v for v in variables for _ in range(self.p)]),
                    fdim: ("feature", list(first.values) * n)},
            name="feature")

    @property
    def one(self) -> Any:
        """The first variable's transform (the features and groups every variable shares)."""
        return self.parts[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.d
        return torch.cat([t.forward(x[:, i * d:(i + 1) * d])
                          for i, t in enumerate(self.parts)], 1)

    def inverse(self, s: torch.Tensor) -> torch.Tensor:
        p = self.p
        return torch.cat([t.inverse(s[:, i * p:(i + 1) * p])
                          for i, t in enumerate(self.parts)], 1)

    def describe(self) -> dict[str, Any]:
        one = getattr(self.one, "describe", None)
        out = dict(one()) if callable(one) else {"xattrib_transform": self.name}
        out["xattrib_transform_per_variable"] = " ".join(self.variables)
        return out
