"""``"eof"``: empirical orthogonal functions (PCA modes) fitted on data, area-weighted."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import xarray as xr

from ..grid.cells import CellIndex
from ..parallel import one_blas_thread
from .base import TRANSFORMS, Grid, Transform
from .spaces import Space

__all__ = ["EOF"]


class EOF(Transform):
    """The leading ``n_modes`` EOFs of anomaly data with √(cell area) weights.

    ``s = V (w ⊙ x)`` with V the ``(n_modes, d)`` orthonormal modes of the weighted data
    and w = √(area / mean area) (∝ √cos φ on a regular grid); ``inverse(s) = (Vᵀ s) / w``.
    The transform is linear, so a zero anomaly maps to s = 0 (the data's mean is not
    subtracted: pass anomalies). With fewer modes than cells it is a projection: the rest of
    each field is TRIM's residual, held fixed. The modes come from scikit-learn's PCA (an
    exact SVD; ``from_covariance`` uses the covariance's eigenvectors).

    Build with :meth:`fit` (on any anomaly DataArray over (sample, lat, lon)) or
    :meth:`from_covariance`. Default groups: every ``mode`` alone; features carry the
    ``explained_variance_ratio`` of the data.

    Examples
    --------
    >>> import torch, xattrib
    >>> from xattrib.transforms import EOF
    >>> sst = xattrib.datasets.pacific_sst()
    >>> t = EOF.fit(sst, n_modes=5)
    >>> t.features.sizes["mode"], t.patterns().dims
    (5, ('mode', 'lat', 'lon'))
    >>> bool(t.features["explained_variance_ratio"][0] > 0.3)  # ENSO
    True
    """

    name = "eof"
    needs: ClassVar[str] = ('any grid (fitted on data)')
    description: ClassVar[str] = (
        'the leading `n_modes` EOFs, √(cell area)-weighted, with their `explained_variance_ratio`')
    default_groups: ClassVar[str] = "mode"
    has_truth_space: ClassVar[bool] = True
    w: torch.Tensor
    v: torch.Tensor

    @classmethod
    def fits_grid(cls, grid: Grid) -> bool:
        return True

    def __init__(self, cells: CellIndex, components: np.ndarray,
                 explained_variance_ratio: np.ndarray | None = None,
                 source: str = "data") -> None:
        super().__init__(cells)
        comp = np.asarray(components, float)
        if comp.ndim != 2 or comp.shape[1] != cells.n_cells:
            raise ValueError(f"components must be (n_modes, {cells.n_cells}), got {comp.shape}")
        w = _weights(cells)
        self.register_buffer("w", torch.as_tensor(w, dtype=torch.float32), persistent=False)
        self.register_buffer("v", torch.as_tensor(comp, dtype=torch.float32),
                             persistent=False)
        k = comp.shape[0]
        evr = (np.full(k, np.nan) if explained_variance_ratio is None
               else np.asarray(explained_variance_ratio, float))
        self.features = xr.DataArray(
            np.arange(1, k + 1), dims=("mode",), name="mode",
            attrs={"long_name": "EOF mode (1 explains most variance)", "units": "1"},
            coords={"explained_variance_ratio": ("mode", evr, {
                "long_name": "fraction of the variance explained by the mode",
                "units": "1"})})
        self.features = self.features.assign_coords(mode=self.features)
        self.groups = None  # every mode is its own group
        self.params = {"n_modes": k, "source": source, "weights": "sqrt(cell area)"}

    @classmethod
    def fit(cls, data: xr.DataArray, n_modes: int = 10, cells: CellIndex | None = None,
            max_samples: int | None = 100_000, sample_dim: str | None = None) -> EOF:
        """Fit the modes on anomaly ``data`` (sample, lat, lon).

        ``cells`` (e.g. ``model.cells``) fixes the valid cells; by default those finite in
        every sample. At most ``max_samples`` samples (the first ones) are read: this
        computes a dask-backed input.
        """
        from sklearn.decomposition import PCA

        if not isinstance(data, xr.DataArray):
            raise TypeError(f"EOF.fit needs a DataArray of anomalies, got {type(data).__name__}")
        cells = cells if cells is not None else CellIndex.from_data(data, sample_dim)
        stacked = cells.stack(data)
        sdim = [d for d in stacked.dims if d != "cell"]
        if len(sdim) != 1:
            raise ValueError(f"EOF.fit needs data over (sample, lat, lon); got dims {data.dims}")
        if max_samples is not None:
            stacked = stacked.isel({sdim[0]: slice(0, int(max_samples))})
        x = np.asarray(stacked.transpose(sdim[0], "cell").values, float)
        if not np.isfinite(x).all():
            raise ValueError("the EOF data has NaN on valid cells in some samples; fill or "
                             "drop them")
        n, d = x.shape
        if not 1 <= int(n_modes) <= min(n, d):
            raise ValueError(
                f"n_modes must be between 1 and min(samples, cells) = {min(n, d)}, got "
                f"{n_modes}: EOFs fitted on {n} samples. To explain a few samples, fit the "
                "EOFs on a training set and pass them: transform=xattrib.transforms.EOF.fit("
                "train_x, n_modes=...) (on a benchmark, transform='eof' uses the EOFs of its "
                "own covariance)")
        w = _weights(cells)
        pca = PCA(n_components=int(n_modes), svd_solver="full").fit(x * w)
        return cls(cells, _signed(pca.components_), pca.explained_variance_ratio_,
                   source=f"PCA of {n} samples")

    @classmethod
    def from_name(cls, cells: CellIndex, data: Any = None, **kwargs: Any) -> EOF:
        """``trim(transform="eof")``: fitted on ``data`` (the Dataset's ``x`` or anomalies)."""
        if isinstance(data, xr.Dataset):
            data = data["x"]
        if data is None:
            raise ValueError("transform='eof' is fitted on data: pass data= (anomalies over "
                             "(sample, lat, lon)) or an xattrib.transforms.EOF")
        return cls.fit(data, cells=cells, **kwargs)

    @classmethod
    def truth_space(cls, cells: CellIndex, weights: np.ndarray, n_features: int,
                    covariance: Any) -> Space:
        """The leading EOFs of the source's covariance with √(area) weights (the eigenvectors
        of W^½ Σ W^½), so the features are uncorrelated."""
        if covariance is None:
            raise ValueError("space='eof' needs the covariance of the source")
        k, w = n_features, weights
        et = cls.from_covariance(covariance, cells, n_modes=k)
        v = et.v.double().numpy()
        b = (v / np.sqrt(w)[None, :]).T  # eof weights are √W
        evr = et.features["explained_variance_ratio"].values
        return Space("eof", b, w, "mode", {
            "mode": (np.arange(1, k + 1), {"long_name": "EOF mode of the source covariance "
                                                        "(1 explains most variance)",
                                           "units": "1"}),
            "explained_variance_ratio": (evr, {
                "long_name": "fraction of the (area-weighted) variance explained",
                "units": "1"})})

    @classmethod
    def from_covariance(cls, cov: Any, cells: CellIndex, n_modes: int) -> EOF:
        """Modes of a known covariance of the valid cells (area-weighted): a ``(d, d)``
        matrix, or a sampler of :mod:`xattrib.covariances` (its Σ as a matrix on small
        grids; on large ones the leading eigenvectors by Lanczos iteration on products
        Σ v — the low-rank sampler's U (Uᵀ v) + s² v — never forming Σ)."""
        from scipy.linalg import eigh

        d = cells.n_cells
        if not 1 <= int(n_modes) <= d:
            raise ValueError(f"n_modes must be between 1 and {d}, got {n_modes}")
        w = _weights(cells)
        if not isinstance(cov, np.ndarray) and not _small(cov, d):
            return cls._from_operator(cov, cells, int(n_modes), w)
        cov = np.asarray(cov if isinstance(cov, np.ndarray) else cov.matrix, float)
        if cov.shape != (d, d):
            raise ValueError(f"cov must be ({d}, {d}) over the valid cells, got {cov.shape}")
        vals, vecs = eigh(w[:, None] * cov * w[None, :], subset_by_index=[d - int(n_modes), d - 1])
        order = np.argsort(vals)[::-1]
        total = float(np.trace(w[:, None] * cov * w[None, :]))
        return cls(cells, _signed(vecs[:, order].T), vals[order] / total,
                   source="covariance eigenvectors")

    @classmethod
    def _from_operator(cls, cov: Any, cells: CellIndex, k: int, w: np.ndarray) -> EOF:
        """The k leading eigenvectors of W^½ Σ W^½ from products with Σ (ARPACK, started
        from a fixed vector so the modes are the same every run)."""
        from scipy.sparse.linalg import LinearOperator, eigsh


        d = cells.n_cells
        if cov.cells.n_cells != d or not np.array_equal(cov.cells.flat, cells.flat):
            raise ValueError("the covariance is over other cells than the transform's")
        if k >= d - 1:
            raise ValueError(f"n_modes must be below {d - 1} for a covariance this large "
                             f"({d} cells), got {k}")
        op = LinearOperator((d, d), dtype=np.float64,
                            matvec=lambda v: w * cov.matmat((w * v.ravel())[:, None])[:, 0],
                            matmat=lambda v: w[:, None] * cov.matmat(w[:, None] * v))
        with one_blas_thread():
            vals, vecs = eigsh(op, k=k, which="LA", v0=np.ones(d), tol=1e-10)
        order = np.argsort(vals)[::-1]
        total = float((w**2 * cov.std**2).sum())  # trace(W Σ): Σ's diagonal only
        return cls(cells, _signed(vecs[:, order].T), vals[order] / total,
                   source=f"covariance eigenvectors (Lanczos on the {cov.method} sampler)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w.to(x.dtype)) @ self.v.to(x.dtype).T

    def inverse(self, s: torch.Tensor) -> torch.Tensor:
        return (s @ self.v.to(s.dtype)) / self.w.to(s.dtype)

    def patterns(self) -> xr.DataArray:
        """The modes as maps ``(mode, lat, lon)`` in the data's units per unit ``s``."""
        v = (self.v / self.w).double().numpy()
        stacked = xr.DataArray(v, dims=("mode", "cell"),
                               coords={"mode": self.features["mode"].values})
        return self.cells.unstack(stacked).rename("eof").assign_attrs(
            long_name="EOF pattern (field of a unit coefficient)")


#: above this many cells a sampler's EOFs come from Lanczos iteration, not its full matrix
EIGH_MAX_CELLS = 2048


def _small(cov: Any, d: int) -> bool:
    """Whether Σ is better formed and decomposed whole: the dense sampler holds it; the
    others form it only on small grids."""
    return getattr(cov, "method", "dense") == "dense" or d <= EIGH_MAX_CELLS


def _weights(cells: CellIndex) -> np.ndarray:
    """√(cell area / mean area) of the valid cells."""
    a = cells.area
    return np.sqrt(a / a.mean())


def _signed(v: np.ndarray) -> np.ndarray:
    """Fix each mode's arbitrary sign: its largest-magnitude loading is positive."""
    v = np.asarray(v, float)
    sign = np.sign(v[np.arange(v.shape[0]), np.abs(v).argmax(1)])
    return v * np.where(sign == 0, 1.0, sign)[:, None]


TRANSFORMS.register("eof", EOF)
