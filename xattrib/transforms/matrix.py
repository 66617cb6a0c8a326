"""A linear transform given by matrices: the basis of a transformed-space benchmark."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import xarray as xr

from ..grid.cells import CellIndex
from .base import TRANSFORMS, Grid, Transform
from .spaces import space_from_dataset

__all__ = ["MatrixTransform", "from_benchmark"]


class MatrixTransform(Transform):
    """``s = A x``, ``inverse(s) = B s`` with ``analysis`` A ``(p, d)`` and ``synthesis``
    B ``(d, p)`` over the valid cells; ``features`` names the p features and ``groups``
    (optional) labels them."""

    name = "matrix"
    needs: ClassVar[str] = ("a benchmark built with space='eof', 'fourier' or 'sht' "
                            "(transform='benchmark')")
    description: ClassVar[str] = (
        "the orthonormal basis a benchmark built with `space=` stores (its truth's features)")
    default_groups: ClassVar[str] = "the benchmark's (wavenumber, degree or mode)"
    a: torch.Tensor

    @classmethod
    def fits_grid(cls, grid: Grid) -> bool:
        return False  # built from a benchmark's stored basis, never from a grid alone

    @classmethod
    def from_name(cls, cells: CellIndex, data: Any = None, **kwargs: Any) -> Any:
        """``trim(transform="benchmark")``: the basis of the benchmark ``data``."""
        if not isinstance(data, xr.Dataset):
            raise ValueError("transform='benchmark' needs the benchmark Dataset")
        if kwargs:
            raise ValueError(f"transform_kwargs {sorted(kwargs)} do not apply to "
                             "transform='benchmark'")
        return from_benchmark(data)
    b: torch.Tensor

    def __init__(self, cells: CellIndex, analysis: np.ndarray, synthesis: np.ndarray,
                 features: xr.DataArray, groups: xr.DataArray | None = None,
                 name: str = "matrix") -> None:
        super().__init__(cells)
        a, b = np.asarray(analysis, float), np.asarray(synthesis, float)
        p, d = a.shape
        if d != cells.n_cells or b.shape != (d, p) or features.size != p:
            raise ValueError(f"analysis must be (p, {cells.n_cells}), synthesis ({cells.n_cells}"
                             f", p) and features of size p; got {a.shape}, {b.shape}, "
                             f"{features.size}")
        self.register_buffer("a", torch.as_tensor(a, dtype=torch.float32), persistent=False)
        self.register_buffer("b", torch.as_tensor(b, dtype=torch.float32), persistent=False)
        self.features, self.groups, self.name = features, groups, name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.a.to(x.dtype).T

    def inverse(self, s: torch.Tensor) -> torch.Tensor:
        return s @ self.b.to(s.dtype).T


def from_benchmark(ds: xr.Dataset) -> Any:
    """The transform of a transformed-space benchmark (``benchmark(..., space=...)``): its
    features and groups are named like the benchmark's ``truth``."""
    cells = CellIndex.from_mask(ds["mask"].astype(bool))
    sp = space_from_dataset(ds, cells)
    if sp is None:
        raise ValueError("this benchmark's truth is on the grid (space='grid'); build it with "
                         "space='eof', 'fourier' or 'sht' to get a transformed truth")
    fdim = sp.feature_dim
    features = xr.DataArray(ds[fdim].values, dims=(fdim,), name=fdim,
                            attrs=dict(ds[fdim].attrs),
                            coords={c: (fdim, v, at) for c, (v, at) in sp.coords.items()
                                    if c != fdim})
    groups = None
    if sp.group is not None:
        groups = xr.DataArray(sp.group[1], dims=(fdim,), name=sp.group[0],
                              attrs=sp.group[2])
    t = MatrixTransform(cells, sp.analysis, sp.synthesis, features, groups,
                        name=f"benchmark {sp.name}")
    t.params = {"space": sp.name, "n_features": sp.n_features}
    return t


TRANSFORMS.register("benchmark", MatrixTransform)
