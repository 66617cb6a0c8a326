"""Covariance sources for the benchmark's input fields X ~ MVN(0, Σ) over valid cells.

Three ways to get Σ, all returning a :class:`Covariance` that knows its cells and how it was
made (recorded in the benchmark's provenance):

- :func:`from_data` — the correlation (or covariance) of an anomaly DataArray, shrunk with
  Ledoit–Wolf or OAS (scikit-learn) so that it is positive definite even with fewer samples
  than cells (50 winters of 450 cells for the bundled SST);
- :func:`parametric` — an isotropic Matérn/exponential/Gaussian kernel of distance on the
  sphere, for any grid and mask, so correlation length can be swept;
- :func:`from_matrix` — a user-supplied matrix, validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import xarray as xr

from ..dims import squeeze_extra
from ..grid.cells import CellIndex
from ..grid.latlon import EARTH_RADIUS_M
from ..parallel import one_blas_thread
from .base import (
    DENSE_MAX_CELLS,
    SAMPLERS,
    SamplerInfo,
    check_dense_fits,
    check_variables,
    resolve_method,
)
from .kernels import KERNELS
from .quantised import QuantisedFactor

if TYPE_CHECKING:  # imported where used, so that "dense" registers first
    from . import lowrank, spectral

__all__ = ["Covariance", "DEFAULT_LENGTH_SCALE_KM", "from_data", "from_matrix", "parametric"]

#: Default correlation length of :func:`parametric` (km): about two 10° cells at the equator,
#: giving neighbour correlations near 0.5–0.7 (Matérn ν = 1.5), similar to observed SST.
DEFAULT_LENGTH_SCALE_KM = 2000.0


@dataclass(eq=False)
class Covariance:
    """A covariance matrix over the valid cells of a grid, with its provenance.

    Attributes
    ----------
    matrix : ndarray (d, d)
        Symmetric positive (semi-)definite.
    cells : CellIndex
        Which grid cells the rows/columns are (in :attr:`CellIndex.flat` order).
    attrs : dict
        How it was made (source, kernel or shrinkage and their parameters).
    variables : tuple of str
        With several variables, their names: rows are each variable's valid cells, one
        variable after another (Σ holds the cross-covariances); empty for one field.
    """

    matrix: np.ndarray
    cells: CellIndex
    attrs: dict[str, Any] = field(default_factory=dict)
    variables: tuple[str, ...] = ()
    _factor: np.ndarray | None = field(default=None, init=False, repr=False)
    method: ClassVar[str] = "dense"

    def __post_init__(self) -> None:
        self.matrix = np.asarray(self.matrix, dtype=np.float64)
        self.variables = check_variables(self.variables)
        _validate(self.matrix, self.n_inputs)
        self.attrs = {**self.attrs, "covariance_sampler": "dense"}

    @property
    def n_inputs(self) -> int:
        """Rows of Σ: the valid cells times the number of variables."""
        return self.cells.n_cells * max(len(self.variables), 1)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.diag(self.matrix))

    @property
    def correlation(self) -> np.ndarray:
        s = self.std
        return self.matrix / np.outer(s, s)

    def factor(self) -> np.ndarray:
        """L with L Lᵀ = Σ (Cholesky; eigen-decomposition for singular PSD matrices).

        Computed with one BLAS thread: LAPACK's blocked factorisations round differently
        with the thread count, and the samples must not.
        """
        if self._factor is None:
            with one_blas_thread():
                try:
                    self._factor = np.linalg.cholesky(self.matrix)
                except np.linalg.LinAlgError:
                    lam, vec = np.linalg.eigh(self.matrix)
                    self._factor = vec * np.sqrt(np.clip(lam, 0.0, None))
        return self._factor

    def matmat(self, v: np.ndarray) -> np.ndarray:
        """Σ v for ``v`` ``(d, m)``."""
        return self.matrix @ np.asarray(v, float)

    def quadratic(self, a: np.ndarray) -> np.ndarray:
        """diag(A Σ Aᵀ) for rows ``a`` ``(K, d)``: each row's variance."""
        a = np.asarray(a, float)
        return np.einsum("kd,kd->k", a @ self.matrix, a)

    def draws(self) -> QuantisedFactor:
        """Standard normals → exact draws of Σ (its quantised factor)."""
        return QuantisedFactor.from_matrix(self.factor())

    def correlation_draws(self) -> QuantisedFactor:
        """Standard normals → exact draws of the correlation (the response parameters')."""
        with one_blas_thread():  # LAPACK rounds differently with the thread count
            return QuantisedFactor.from_matrix(
                np.linalg.cholesky(self.correlation + 1e-10 * np.eye(self.n_inputs)))


def _validate(m: np.ndarray, d: int) -> None:
    if m.shape != (d, d):
        raise ValueError(f"covariance matrix has shape {m.shape}, expected ({d}, {d}) — one row "
                         "and column per valid cell of the grid (of each variable)")
    if not np.all(np.isfinite(m)):
        raise ValueError("covariance matrix contains NaN or inf")
    if not np.allclose(m, m.T, rtol=1e-8, atol=1e-10 * float(np.abs(m).max() or 1.0)):
        raise ValueError("covariance matrix is not symmetric; pass (m + m.T) / 2 if that is "
                         "what you meant")
    lam_min = float(np.linalg.eigvalsh(m)[0])
    scale = float(np.abs(np.diag(m)).max() or 1.0)
    if lam_min < -1e-8 * scale:
        raise ValueError(f"covariance matrix is not positive semi-definite (smallest eigenvalue "
                         f"{lam_min:.3g}); regularise it, e.g. with shrinkage")
    if np.any(np.diag(m) <= 0):
        raise ValueError("covariance matrix has non-positive variances on its diagonal")


def from_matrix(matrix: np.ndarray, cells: CellIndex | xr.DataArray) -> Covariance:
    """Use a user-supplied covariance over the valid cells (validated: size, symmetry, PSD).

    ``cells`` is a :class:`CellIndex` or a boolean mask DataArray; rows follow the order of
    the valid cells in the flattened (lat, lon) grid.
    """
    if isinstance(cells, xr.DataArray):
        cells = CellIndex.from_mask(cells)
    check_dense_fits(cells.n_cells, "lowrank")
    return Covariance(np.asarray(matrix, float), cells, {"covariance_source": "user matrix"})


def from_data(
    da: xr.DataArray | xr.Dataset,
    sample_dim: str | None = None,
    kind: str = "correlation",
    shrinkage: str | float | None = "ledoit_wolf",
    method: str = "auto",
    variables: list[str] | tuple[str, ...] | None = None,
) -> Covariance | lowrank.LowRankCovariance:
    """Estimate Σ from anomalies: per-cell standardisation, then shrunk correlation.

    Parameters
    ----------
    da : DataArray or Dataset
        Anomalies with one sample-like dim (e.g. ``time``) and lat/lon; land NaN. A Dataset
        of several variables on one grid (``sst`` and ``slp``, or one variable at several
        lags, :func:`xattrib.datasets.lagged`) gives their joint Σ with every
        cross-covariance: rows are each variable's cells in turn, over the cells valid in
        every variable (the cells some variables lack are dropped, and counted in
        ``covariance_dropped_cells``).
    sample_dim : str, optional
        The sample dimension (any name, e.g. ``time``); by default the one dimension that
        is not spatial.
    kind : {"correlation", "covariance"}
        Correlation (unit variances, as in Mamalakis et al. 2022) or covariance in the data's
        units (the per-cell standard deviations are put back after shrinkage).
    shrinkage : {"ledoit_wolf", "oas"} or float in [0, 1] or None
        How to make the estimate positive definite when cells ≥ samples. A float is a fixed
        shrinkage towards the identity; None uses the sample estimate (refused if singular).
    method : {"auto", "dense", "lowrank"}
        How Σ is held and drawn (:data:`~xattrib.covariances.SAMPLERS`): ``"dense"`` forms
        the d × d matrix; ``"lowrank"`` keeps the shrunk estimate as its d × n factor plus a
        diagonal (the same Σ, O(d·n) memory); ``"auto"`` is dense up to
        :data:`~xattrib.covariances.base.DENSE_MAX_CELLS` rows. Recorded as
        ``covariance_sampler``.
    variables : list of str, optional
        Which variables of a Dataset, in order (default: every data variable).

    Examples
    --------
    >>> from xattrib.datasets import lagged, pacific_sst
    >>> cov = from_data(pacific_sst())
    >>> cov.matrix.shape, cov.attrs["covariance_shrinkage_method"]
    ((450, 450), 'ledoit_wolf')
    >>> joint = from_data(lagged(pacific_sst(), lags=[0, 1]))
    >>> joint.variables, joint.matrix.shape
    (('sst_lag0', 'sst_lag1'), (900, 900))
    """
    if kind not in ("correlation", "covariance"):
        raise ValueError(f"kind must be 'correlation' or 'covariance', got {kind!r}")
    if not (shrinkage is None or shrinkage in ("ledoit_wolf", "oas") or (
            isinstance(shrinkage, int | float) and 0.0 <= float(shrinkage) <= 1.0)):
        raise ValueError(f"shrinkage must be 'ledoit_wolf', 'oas', None or a number in [0, 1], "
                         f"got {shrinkage!r}")
    names, parts, dim, squeezed = _anomaly_parts(da, sample_dim, variables)
    cells, dropped = _common_cells(parts, dim, names)
    spatial = cells.spatial.dims
    data = np.concatenate([cells.stack(p.transpose(dim, *spatial)).values.astype(np.float64)
                           for p in parts], axis=1)
    n, d = data.shape
    if n < 3:
        raise ValueError(f"need at least 3 samples along {dim!r} to estimate a covariance, "
                         f"got {n}; a covariance needs many maps (years, months) of anomalies")
    chosen = resolve_method(method, d, ("dense", "lowrank"), "lowrank")
    with one_blas_thread():  # repeatable bits whatever the BLAS thread count
        mean = data.mean(0)
        std = data.std(0, ddof=1)
        if np.any(std == 0):
            raise ValueError(f"{int(np.sum(std == 0))} cells are constant along {dim!r}; "
                             "mask them")
        z = (data - mean) / std
        what = " and ".join(names) if names else (da.name or "data")
        attrs: dict[str, Any] = {"covariance_source": f"estimated from {what} "
                                 f"({n} samples along {dim!r}, {cells.n_cells} cells"
                                 + (f" × {len(names)} variables)" if names else ")"),
                                 "covariance_kind": kind}
        if squeezed:
            attrs["covariance_squeezed_dims"] = ", ".join(squeezed)
        if dropped:
            attrs["covariance_dropped_cells"] = dropped
        if chosen == "lowrank":
            from . import lowrank

            return lowrank.from_standardised(z, cells, std, kind, shrinkage, attrs,
                                             tuple(names))
        return _shrunk(z, std, cells, kind, shrinkage, attrs, tuple(names))


def _anomaly_parts(da: xr.DataArray | xr.Dataset, sample_dim: str | None,
                   variables: Any) -> tuple[list[str], list[xr.DataArray], str, list[str]]:
    """(names, DataArrays, sample dim, squeezed dims) of one field or a Dataset's variables
    (no names for one field)."""
    if isinstance(da, xr.DataArray):
        if variables is not None:
            raise ValueError("variables= selects variables of a Dataset; this is a DataArray")
        one, dim, squeezed = squeeze_extra(da, sample_dim,
                                           what=f"{da.name or 'the anomalies'!s}")
        return [], [one], dim, squeezed
    names = [str(v) for v in (list(da.data_vars) if variables is None else
                              ([variables] if isinstance(variables, str) else variables))]
    missing = [v for v in names if v not in da.data_vars]
    if missing:
        raise ValueError(f"variables: the Dataset has no variable {missing[0]!r}; it has "
                         f"{sorted(map(str, da.data_vars))}")
    if not names:
        raise ValueError("the Dataset has no data variables; pass anomalies (time, lat, lon)")
    parts, dims, squeezed = [], [], []
    for v in names:
        one, dim, sq = squeeze_extra(da[v], sample_dim, what=f"variable {v!r}")
        parts.append(one.rename(v))
        dims.append(dim)
        squeezed += [f"{v}: {s}" for s in sq] if len(names) > 1 else sq
    if len(set(dims)) > 1:
        raise ValueError(f"the variables {names} have different sample dimensions {dims}; "
                         "pass sample_dim= or rename them to one")
    if len(names) == 1:
        return [], parts, dims[0], squeezed
    ref = parts[0][dims[0]]
    for v, p in zip(names[1:], parts[1:], strict=True):
        if p.sizes[dims[0]] != ref.size or not np.array_equal(p[dims[0]].values, ref.values):
            raise ValueError(f"variable {v!r} has other {dims[0]!r} values than {names[0]!r}; "
                             "a joint covariance needs the same samples of every variable: "
                             f"align them first (xr.align(..., join='inner'))")
    return names, parts, dims[0], squeezed


def _common_cells(parts: list[xr.DataArray], dim: str, names: list[str]
                  ) -> tuple[CellIndex, int]:
    """The cells valid in every variable (one grid, checked), and how many valid cells of
    some variable were left out."""
    each = [CellIndex.from_data(p, sample_dim=dim) for p in parts]
    first = each[0]
    for v, c in zip(names[1:], each[1:], strict=True):
        first.check_grid(c.mask, what=f"variable {v!r}")
    if len(each) == 1:
        return first, 0
    both = first.mask.values.copy()
    for c in each[1:]:
        both &= c.mask.values
    if not both.any():
        raise ValueError(f"no cell is valid in every one of {names}; the variables' masks do "
                         "not overlap")
    cells = CellIndex.from_mask(first.mask.copy(data=both))
    dropped = sum(c.n_cells for c in each) - len(each) * cells.n_cells
    return cells, int(dropped)


def _shrunk(z: np.ndarray, std: np.ndarray, cells: CellIndex, kind: str,
            shrinkage: str | float | None, attrs: dict[str, Any],
            variables: tuple[str, ...] = ()) -> Covariance:
    from sklearn.covariance import OAS, LedoitWolf

    n, d = z.shape
    if shrinkage in ("ledoit_wolf", "oas"):
        est = (LedoitWolf if shrinkage == "ledoit_wolf" else OAS)(assume_centered=True).fit(z)
        c = est.covariance_
        attrs.update(covariance_shrinkage_method=shrinkage,
                     covariance_shrinkage=float(est.shrinkage_))
    elif shrinkage is None:
        c = np.cov(z, rowvar=False)
        attrs["covariance_shrinkage_method"] = "none"
        if np.linalg.eigvalsh(c)[0] <= 0:
            raise ValueError(f"the sample correlation of {n} samples over {d} cells is singular; "
                             "use shrinkage='ledoit_wolf' (default) or a float in (0, 1]")
    else:
        a = float(shrinkage)
        if not 0.0 <= a <= 1.0:
            raise ValueError(f"shrinkage must be 'ledoit_wolf', 'oas', None or in [0, 1], got {a}")
        emp = np.cov(z, rowvar=False)
        c = (1 - a) * emp + a * np.trace(emp) / d * np.eye(d)
        attrs.update(covariance_shrinkage_method="fixed", covariance_shrinkage=a)
    s = np.sqrt(np.diag(c))
    c = c / np.outer(s, s)  # back to unit diagonal after shrinkage
    c = 0.5 * (c + c.T)
    if kind == "covariance":
        c = c * np.outer(std, std)
    return Covariance(c, cells, attrs, variables)


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def parametric(
    grid: xr.Dataset | xr.DataArray | CellIndex,
    kernel: str = "matern",
    length_scale_km: float = DEFAULT_LENGTH_SCALE_KM,
    nu: float = 1.5,
    variance: float = 1.0,
    method: str = "auto",
    lmax: int | None = None,
    variables: list[str] | tuple[str, ...] | None = None,
    cross_correlation: Any = None,
) -> Covariance | spectral.SpectralCovariance:
    """An isotropic kernel of distance on the sphere over the valid cells of a grid.

    Distances are chordal (2R·sin(θ/2) for great-circle angle θ): a monotone function of the
    great-circle distance, equal to it for short ranges, and the distance for which every
    Matérn kernel is positive definite on the sphere (Gneiting 2013) — great-circle distance
    is only safe for ν ≤ ½.

    Parameters
    ----------
    grid : Dataset with ``mask``, boolean mask DataArray, or CellIndex
    kernel : str
        A name of :data:`xattrib.covariances.kernels.KERNELS`: ``"matern"``,
        ``"exponential"`` (Matérn ν = ½), ``"gaussian"`` (the ν → ∞ limit).
    length_scale_km : float
        Correlation length ℓ in km.
    nu : float
        Matérn smoothness (only for ``kernel="matern"``).
    variance : float
        Marginal variance (1 gives a correlation matrix).
    method : {"auto", "dense", "spectral"}
        ``"dense"`` forms the d × d kernel matrix; ``"spectral"`` draws the same kernel by
        spherical-harmonic synthesis from its angular power spectrum (no d × d matrix; the
        grid's longitudes must be regular); ``"auto"`` is dense up to
        :data:`~xattrib.covariances.base.DENSE_MAX_CELLS` cells, spectral above.
    lmax : int, optional
        The spectral sampler's largest degree (default: the grid's Nyquist degree, raised
        until 99.9 % of the variance is resolved).
    variables : list of str, optional
        Several fields on the grid (e.g. ``["sst", "slp"]``): each has its own kernel —
        ``kernel``, ``length_scale_km``, ``nu`` and ``variance`` may then be one value per
        variable — and ``cross_correlation`` R (V × V, unit diagonal, positive
        semi-definite) couples them: Σ_vw = R_vw · L_v L_wᵀ with L_v the Cholesky factor of
        variable v's kernel matrix, so each variable keeps its own kernel and two variables
        with the same kernel have Σ_vw = R_vw · K (the separable R ⊗ K). Dense only.
    cross_correlation : array (V, V), optional
        With ``variables``: R (default the identity, independent variables).

    Examples
    --------
    >>> from xattrib.grid import make_grid
    >>> cov = parametric(make_grid(30.0, mask="ocean"), length_scale_km=3000)
    >>> bool(np.allclose(np.diag(cov.matrix), 1.0))
    True
    >>> two = parametric(make_grid(30.0, mask="ocean"), variables=["sst", "slp"],
    ...                  length_scale_km=[2000, 4000], cross_correlation=[[1, 0.6], [0.6, 1]])
    >>> d = cov.cells.n_cells
    >>> bool(np.isclose(two.matrix[0, d], 0.6))  # sst and slp at the same cell
    True
    """
    if variables is not None and len(check_variables(variables)) > 1:
        return _parametric_joint(grid, check_variables(variables), cross_correlation,
                                 kernel=kernel, length_scale_km=length_scale_km, nu=nu,
                                 variance=variance, method=method, lmax=lmax)
    if cross_correlation is not None:
        raise ValueError("cross_correlation couples several variables: pass variables=[...] "
                         "(two or more names) too")
    family = KERNELS.get(kernel, what="kernel")
    if not length_scale_km > 0:
        raise ValueError(f"length_scale_km must be positive, got {length_scale_km!r}")
    if not nu > 0:
        raise ValueError(f"nu must be positive, got {nu!r}")
    if not variance > 0:
        raise ValueError(f"variance must be positive, got {variance!r}")
    if lmax is not None and method not in ("auto", "spectral"):
        raise ValueError("lmax applies to the spectral sampler only (method='spectral')")
    if isinstance(grid, CellIndex):
        cells = grid
    elif isinstance(grid, xr.Dataset):
        cells = CellIndex.from_mask(grid["mask"]) if "mask" in grid else \
            CellIndex.from_mask(xr.ones_like(grid[list(grid.data_vars)[0]], dtype=bool))
    elif grid.dtype == bool:
        cells = CellIndex.from_mask(grid)
    else:
        cells = CellIndex.from_data(grid)
    attrs = {"covariance_source": "parametric", "covariance_kernel": kernel,
             "covariance_length_scale_km": float(length_scale_km),
             "covariance_variance": float(variance),
             "covariance_distance": "chordal"}
    if family.uses_nu:
        attrs["covariance_nu"] = float(nu)
    if resolve_method(method, cells.n_cells, ("dense", "spectral"), "spectral") == "spectral":
        from . import spectral

        return spectral.spectral(cells, kernel, float(length_scale_km), float(nu),
                                 float(variance), lmax, attrs)
    cc = cells.cell_coords()
    lat, lon = cc[cells.spatial.lat][1], cc[cells.spatial.lon][1]
    u = _unit_vectors(np.asarray(lat, float), np.asarray(lon, float))
    # chord length from coordinate differences: elementwise, so no BLAS rounding enters
    sq = np.zeros((u.shape[0], u.shape[0]))
    for c in range(3):
        diff = u[:, None, c] - u[None, :, c]
        sq += diff * diff
    chord = np.sqrt(sq)
    r = EARTH_RADIUS_M / 1000.0 * chord  # km
    h = r / length_scale_km
    k = variance * family.correlation(h, float(nu))
    # a tiny nugget keeps the Cholesky factor stable for smooth kernels on dense grids
    k[np.diag_indices_from(k)] += 1e-6 * variance
    return Covariance(k, cells, attrs)


def _parametric_joint(grid: Any, variables: tuple[str, ...], cross_correlation: Any,
                      method: str, lmax: int | None, **kernel: Any) -> Covariance:
    """Several fields, each with its own kernel, coupled by R: Σ_vw = R_vw L_v L_wᵀ."""
    nv = len(variables)
    per: dict[str, list[Any]] = {}
    for key, value in kernel.items():
        many = isinstance(value, list | tuple | np.ndarray)
        values = list(value) if many else [value] * nv
        if len(values) != nv:
            raise ValueError(f"{key} has {len(values)} values for {nv} variables "
                             f"{list(variables)}; give one, or one per variable")
        per[key] = values
    r = np.eye(nv) if cross_correlation is None else np.asarray(cross_correlation, float)
    if r.shape != (nv, nv):
        raise ValueError(f"cross_correlation must be {nv} × {nv} (one row and column per "
                         f"variable of {list(variables)}), got shape {r.shape}")
    if not np.all(np.isfinite(r)) or not np.allclose(r, r.T) or not np.allclose(
            np.diag(r), 1.0) or np.linalg.eigvalsh(r)[0] < -1e-10:
        raise ValueError("cross_correlation must be a correlation matrix: symmetric, unit "
                         "diagonal, positive semi-definite (every |r| ≤ 1 is not enough with "
                         "three or more variables)")
    if lmax is not None or method == "spectral":
        raise ValueError("several variables with a parametric kernel use the dense sampler "
                         "(method='dense' or 'auto'); on a large grid, estimate their joint "
                         "covariance from data instead (from_data on a Dataset, the lowrank "
                         "sampler)")
    one = [parametric(grid, method="dense", **{k: v[i] for k, v in per.items()})
           for i in range(nv)]
    cells = one[0].cells
    check_dense_fits(nv * cells.n_cells, "lowrank")
    if nv * cells.n_cells > DENSE_MAX_CELLS and method == "auto":
        raise ValueError(f"{nv} variables × {cells.n_cells:,} cells exceed the dense "
                         f"sampler's {DENSE_MAX_CELLS:,} rows; pass method='dense' to form it "
                         "anyway, use a coarser grid, or estimate a joint covariance from "
                         "data (the lowrank sampler)")
    factors = [c.factor() for c in one if isinstance(c, Covariance)]
    d = cells.n_cells
    m = np.empty((nv * d, nv * d))
    with one_blas_thread():
        for i in range(nv):
            for j in range(i, nv):
                block = r[i, j] * (factors[i] @ factors[j].T)
                m[i * d:(i + 1) * d, j * d:(j + 1) * d] = block
                m[j * d:(j + 1) * d, i * d:(i + 1) * d] = block.T
    attrs = {"covariance_source": "parametric, several variables",
             "covariance_cross_correlation": r.ravel().tolist(),
             **{f"covariance_{k}": " ".join(str(v) for v in vals) for k, vals in per.items()},
             "covariance_distance": "chordal"}
    return Covariance(m, cells, attrs, variables)


SAMPLERS.register("dense", SamplerInfo(
    "Σ and its Cholesky factor (d × d), quantised so products are exact",
    "any: data, kernel, a matrix", "everywhere (exact integer products)"))
