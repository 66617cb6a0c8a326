"""Orthonormal bases for benchmarks whose truth lives in a transformed space.

A :class:`Space` is a basis B ``(d, K)`` of fields over the valid cells, orthonormal in the
area-weighted inner product (Bᵀ W B = I, W = cell area / mean area), with the analysis
s = Bᵀ W x giving K features. Benchmarks with ``space=`` draw x as usual and respond to
s: y = scale · Σₖ Fₖ(sₖ), so the exact attribution of each feature is known.

- ``"eof"``: the leading EOFs of the source's covariance with √(area) weights (the
  eigenvectors of W^½ Σ W^½), so the features are uncorrelated;
- ``"fourier"``: the real 2-D Fourier basis functions of the grid (:class:`Fourier`) in
  order of radial wavenumber, restricted to the valid cells and orthonormalised in that
  order (area-weighted QR), so land does not break orthonormality;
- ``"sht"``: real spherical harmonics in order of degree, orthonormalised the same way
  (a global grid).

Each feature keeps the label of the basis function it came from (wavenumber band, degree,
mode), which names the default groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..grid.cells import CellIndex
from .base import TRANSFORMS

__all__ = ["Space", "build_space", "orthonormalise", "space_from_dataset", "space_variables",
           "spaces"]


@dataclass(eq=False)
class Space:
    """An orthonormal basis over the valid cells and the names of its features."""

    name: str
    synthesis: np.ndarray           # B (d, K)
    weights: np.ndarray             # W (d,), area / mean area
    feature_dim: str
    coords: dict[str, tuple[np.ndarray, dict[str, Any]]] = field(default_factory=dict)
    group: tuple[str, np.ndarray, dict[str, Any]] | None = None  # name, labels (K,), attrs

    @property
    def analysis(self) -> np.ndarray:
        """Bᵀ W ``(K, d)``: s = analysis @ x."""
        return self.synthesis.T * self.weights[None, :]

    @property
    def n_features(self) -> int:
        return int(self.synthesis.shape[1])


def orthonormalise(phi: np.ndarray, weights: np.ndarray, k: int, what: str) -> np.ndarray:
    """The first ``k`` columns of ``phi`` (d, p) orthonormalised in order (Bᵀ W B = I)."""
    sw = np.sqrt(weights)[:, None]
    q, r = np.linalg.qr(phi[:, :k] * sw)
    diag = np.abs(np.diag(r))
    norms = np.linalg.norm(phi[:, :k] * sw, axis=0)
    bad = np.flatnonzero(diag < 1e-6 * norms)
    if bad.size:
        raise ValueError(f"the first {k} {what} are not independent on the valid cells "
                         f"(basis function {int(bad[0])} depends on earlier ones); use fewer "
                         "n_features")
    q = q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))[None, :]  # keep φ's sign
    return q / sw


def spaces() -> tuple[str, ...]:
    """The names ``space=`` accepts: ``"grid"`` and every transform with a truth space."""
    return ("grid", *(n for n, c in TRANSFORMS.items() if c.has_truth_space))


def build_space(name: str, cells: CellIndex, covariance: Any = None,
                n_features: int | None = None) -> Space:
    """The basis of space ``name`` on ``cells`` (``covariance`` for ``"eof"``: a matrix or
    any sampler of :mod:`xattrib.covariances`, whose Σ is never formed on large grids)."""
    d = cells.n_cells
    if name not in spaces()[1:]:
        raise ValueError(f"space must be one of {spaces()}, got {name!r}")
    k = min(d, 50) if n_features is None else int(n_features)
    if not 1 <= k <= d:
        raise ValueError(f"n_features must be between 1 and the {d} valid cells, got "
                         f"{n_features}")
    a = cells.area
    space: Space = TRANSFORMS.get(name).truth_space(cells, a / a.mean(), k, covariance)
    return space


def space_variables(sp: Space, cells: CellIndex) -> dict[str, xr.DataArray]:
    """The variables a benchmark file stores for its space (read by
    :func:`space_from_dataset`): the basis B over the grid and the weights W."""
    return {
        "space_synthesis": cells.unstack(xr.DataArray(
            sp.synthesis.T, dims=(sp.feature_dim, "cell"))).assign_attrs(
            long_name=f"orthonormal {sp.name} basis B: x = B s on valid cells", units="1"),
        "space_weight": cells.unstack(xr.DataArray(sp.weights, dims=("cell",))).assign_attrs(
            long_name="inner-product weight W (cell area / mean area): s = B^T W x",
            units="1"),
    }


def space_from_dataset(ds: Any, cells: CellIndex) -> Space | None:
    """The :class:`Space` stored in a benchmark Dataset (None for a grid benchmark)."""
    name = ds.attrs.get("xattrib_space", "grid")
    if name == "grid":
        return None
    fdim = ds.attrs["xattrib_space_feature_dim"]
    b = cells.stack(ds["space_synthesis"].transpose(fdim, *cells.spatial.dims)).transpose(
        "cell", fdim).values
    w = cells.stack(ds["space_weight"]).values
    coords = {c: (ds[c].values, dict(ds[c].attrs)) for c in ds[fdim].coords
              if ds[c].dims == (fdim,)}
    gname = ds.attrs.get("xattrib_space_group")
    group = (gname, ds[gname].values, dict(ds[gname].attrs)) if gname else None
    coords = {c: v for c, v in coords.items() if c != gname}
    return Space(name, np.asarray(b, float), np.asarray(w, float), fdim, coords, group)
