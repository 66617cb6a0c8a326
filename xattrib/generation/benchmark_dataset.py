"""``benchmark()``: turn a grid or an anomaly dataset into an attribution benchmark.

Returns a lazy Dataset ``x(sample, lat, lon)``, ``y(sample)``, ``truth(sample, lat, lon)``
with the response parameters and the covariance stored beside them, so that
:func:`generator_from_dataset` rebuilds the exact generator (to evaluate F on new inputs or
draw fresh samples) from the Dataset or from a file it was written to.
"""

from __future__ import annotations

import inspect
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from ..baselines import parse_baseline
from ..covariances import SAMPLER_TYPES
from ..covariances import dense as cov_mod
from ..covariances.quantised import QuantisedFactor
from ..covariances.strength import check_strength, strengthen
from ..datasets import pacific_sst
from ..grid.cells import CellIndex, scatter_cells
from ..grid.latlon import find_latlon, require_xarray
from ..parallel import one_blas_thread
from ..registry import closest_hint
from ..responses import RESPONSES, Response
from .generator import STREAM_PARAMS, Generator, block_rng
from .schema import encode

__all__ = ["BASELINES", "benchmark", "is_untouched"]

#: the baseline names the truth resolves (the vocabulary is :mod:`xattrib.baselines`)
BASELINES = ("zero", "expectation")


def _is_data(source: xr.Dataset | xr.DataArray) -> bool:
    """Anomalies (a field with a sample dimension, or a Dataset of such fields) rather than
    a grid (a mask, or a Dataset holding one)."""
    def field(da: xr.DataArray) -> bool:
        return da.dtype != bool and any(d not in find_latlon(da).dims for d in da.dims)

    if isinstance(source, xr.DataArray):
        return field(source)
    return any(field(source[v]) for v in source.data_vars if v not in ("mask", "cell_area"))


def _as_covariance(source: xr.Dataset | xr.DataArray | None, covariance: Any,
                   sample_dim: str | None, variables: Any
                   ) -> tuple[Any, xr.Dataset | xr.DataArray]:
    if source is None:
        source = pacific_sst()
    require_xarray(source, "source")
    is_data = _is_data(source)
    if isinstance(covariance, (*SAMPLER_TYPES, np.ndarray)) and variables is not None:
        raise ValueError("variables= chooses the variables whose covariance benchmark() "
                         "builds; a covariance you pass already has its own")
    if isinstance(covariance, SAMPLER_TYPES):
        return covariance, source
    if isinstance(covariance, np.ndarray):
        if is_data and isinstance(source, xr.Dataset):
            raise ValueError("a covariance matrix applies to one field; for several "
                             "variables pass a Covariance with variables= (xattrib."
                             "covariances.Covariance(matrix, cells, variables=[...]))")
        cells = (CellIndex.from_data(source, sample_dim)  # type: ignore[arg-type]
                 if is_data else _grid_cells(source))
        return cov_mod.from_matrix(covariance, cells), source
    kwargs = dict(covariance or {})
    if not isinstance(kwargs, dict):
        raise TypeError("covariance must be None, a Covariance, an ndarray or a dict of "
                        f"keyword arguments, got {type(covariance).__name__}")
    if variables is not None:
        kwargs["variables"] = variables
    if is_data:
        if isinstance(source, xr.Dataset):
            source = source.drop_vars([v for v in ("mask", "cell_area") if v in source])
        return cov_mod.from_data(source, sample_dim=sample_dim, **kwargs), source
    if kwargs.get("cross_correlation") is not None and kwargs.get("variables") is None:
        raise ValueError("covariance={'cross_correlation': ...} couples several variables: "
                         "name them with benchmark(variables=[...])")
    return cov_mod.parametric(_grid_cells(source), **kwargs), source


def _strengths(covariance: Any) -> tuple[Any, float, float]:
    """``covariance`` without ``strength`` and ``response_strength``, and those two."""
    if not isinstance(covariance, dict):
        return covariance, 0.0, 0.0
    kw = dict(covariance)
    strength = check_strength(kw.pop("strength", 0.0))
    response = check_strength(kw.pop("response_strength", 0.0), "response_strength")
    return kw or None, strength, response


def _grid_cells(grid: xr.Dataset | xr.DataArray) -> CellIndex:
    if isinstance(grid, xr.Dataset):
        if "mask" not in grid:
            raise ValueError("a grid Dataset needs a boolean 'mask' variable (True = valid "
                             "cell), as made by xattrib.grid.make_grid")
        return CellIndex.from_mask(grid["mask"])
    if grid.dtype == bool:
        return CellIndex.from_mask(grid)
    return CellIndex.from_data(grid)


def _chunk_bounds(n: int, chunks: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunks, n)) for s in range(0, n, chunks)]


def _block(gen: Generator, start: int, stop: int, base: np.ndarray | None,
           per_sample: bool, flat: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """One chunk of the benchmark, gridded: (x, y, truth, *the other truth kinds). Runs
    inside a dask task."""
    n, cells = stop - start, shape[0] * shape[1]
    x = np.empty((n, cells), gen.dtype)
    gridded = gen.space is None  # else the truth is over the transformed features
    truth = np.empty((n, cells if gridded else gen.n_features), gen.dtype)
    kinds = {k: np.empty((n, cells), gen.dtype) for k in gen.truth_kinds}

    def emit(rows: slice, xb: np.ndarray, tb: np.ndarray, kb: dict[str, np.ndarray]) -> None:
        scatter_cells(xb, flat, shape, out=x[rows])
        if gridded:
            scatter_cells(tb, flat, shape, out=truth[rows])
        else:
            truth[rows] = tb
        for k, v in kb.items():
            scatter_cells(v, flat, shape, out=kinds[k][rows])

    with one_blas_thread():  # dask already runs one task per core (speed only)
        if not gen.response.additive:  # the truths need the baseline input itself
            _, y, _ = gen.draw(start, stop, emit=emit, baseline_x=base)
        else:
            if per_sample and base is not None:
                base = gen.contributions(
                    gen.features_of(base.astype(gen.dtype)).astype(gen.dtype))
            _, y, _ = gen.draw(start, stop, base, emit=emit)
    extra = [kinds[k].reshape(n, *shape) for k in gen.truth_kinds]
    return (x.reshape(n, *shape), y, truth.reshape(n, *shape) if gridded else truth, *extra)


def _input_layout(gen: Generator) -> tuple[np.ndarray, tuple[int, int], tuple[int, ...]]:
    """(flat indices, 2-D shape scattered into, shape of one sample) of x: one field's grid,
    or the variables' grids stacked along the first axis (each variable's cells in turn,
    as the generator's columns are)."""
    cells = gen.covariance.cells
    ny, nx = cells.shape
    nv = len(gen.variables)
    if not nv:
        return cells.flat, (ny, nx), (ny, nx)
    flat = np.concatenate([cells.flat + v * ny * nx for v in range(nv)])
    return flat, (nv * ny, nx), (nv, ny, nx)


def _baseline_contrib(gen: Generator, b: np.ndarray) -> np.ndarray:
    """scale · F(b) for one baseline field (over the features of a transformed benchmark)."""
    with one_blas_thread():
        return gen.contributions(gen.features_of(b[None]))[0]


def _baseline(baseline: Any, gen: Generator, cells: CellIndex, n: int,
              chunks: int) -> tuple[str, np.ndarray | None, dsa.Array | None, dict[str, Any]]:
    """Resolve the truth's baseline: (kind, constant scale·F(b), per-sample b, variables)."""
    interacting = not gen.response.additive
    allowed = ("zero",) if interacting else BASELINES
    why_not = {"mean": "'mean' is a model's training mean; the truth has no model: for the "
                       "generating distribution's mean use 'zero', for its expected response "
                       "'expectation'"}
    if interacting:
        why_not["expectation"] = (
            f"the response {gen.response.name!r} has interactions, whose exact attributions "
            "are relative to a baseline input: use 'zero', a number, a (lat, lon) field or "
            "a per-sample field")
    spec = parse_baseline(baseline, cells, n_vars=max(len(gen.variables), 1), n_samples=n,
                          allowed=allowed, why_not=why_not)
    if interacting:
        if spec.kind == "background":
            raise ValueError(
                f"the response {gen.response.name!r} has interactions: its exact "
                "attributions are relative to one baseline input per sample, and against a "
                "background distribution they have no closed form; pass one background "
                "field per sample as a per-sample baseline (sample, lat, lon)")
        if spec.kind == "zero":
            return "zero", np.zeros(cells.n_cells), None, {}
        if spec.kind in ("value", "field"):
            assert spec.fixed is not None
            return spec.kind, spec.fixed, None, {"baseline": spec.fixed}
    if spec.kind == "zero":
        return "zero", None, None, {}
    if spec.kind == "expectation":
        c = gen.expected_contributions()
        return "expectation", c, None, {"baseline_response": c}
    if spec.kind in ("value", "field"):
        assert spec.fixed is not None
        c = _baseline_contrib(gen, spec.fixed)
        return spec.kind, c, None, {"baseline": spec.fixed, "baseline_response": c}
    if spec.kind == "background":  # the truth relative to a distribution: mean of F over it
        assert spec.background is not None
        with one_blas_thread():
            c = gen.contributions(gen.features_of(spec.background)).mean(0)
        return "background", c, None, {"baseline_response": c}
    assert spec.per_sample is not None
    st = dsa.asarray(spec.per_sample.data).rechunk((chunks, -1))
    return "per-sample", None, st, {"baseline": st}


def _covariances(source: Any, covariance: Any, sample_dim: str | None, variables: Any
                 ) -> tuple[Any, Any, Any]:
    """(the sampling covariance, the covariance the response's parameters are drawn with,
    the source): the response keeps the source's own correlation unless told otherwise
    (Krell et al. keep F fixed while the sampling correlation changes)."""
    covariance, strength, response_strength = _strengths(covariance)
    own, source = _as_covariance(source, covariance, sample_dim, variables)
    cov = strengthen(own, strength)
    param_cov = strengthen(own, response_strength, "response_strength")
    if strength or response_strength:
        cov.attrs = {**cov.attrs, "covariance_strength": strength,
                     "covariance_response_strength": response_strength}
    return cov, param_cov, source


def _checked_response(response: Any, seed: int, param_cov: Any, basis: Any,
                      response_kwargs: dict[str, Any], k: int) -> Response:
    """The response family built with its parameters, checked against where it acts."""
    response = _response(response, seed, param_cov, basis, response_kwargs)
    if basis is not None and not response.additive:
        raise ValueError(f"response {response.name!r} has interactions between grid cells; "
                         "it acts on the grid: use space='grid' (the default)")
    if response.n_cells != k:
        raise ValueError(f"response has {response.n_cells} inputs, the "
                         f"{'grid has' if basis is None else 'space has'} {k}")
    return response


def benchmark(
    source: xr.Dataset | xr.DataArray | None = None,
    n_samples: int = 100_000,
    seed: int = 0,
    chunks: int | str = "auto",
    response: str | Response = "pwl",
    baseline: Any = "zero",
    covariance: Any = None,
    scale: str | float = "1/d",
    noise_snr: float | None = None,
    dtype: Any = "float32",
    sample_dim: str | None = None,
    space: str = "grid",
    n_features: int | None = None,
    variables: list[str] | None = None,
    **response_kwargs: Any,
) -> xr.Dataset:
    """Generate a synthetic attribution benchmark whose correct attribution is known.

    X ~ MVN(0, Σ) over the valid cells, y = scale · Σᵢ Fᵢ(xᵢ) (+ noise), and
    truth = scale · (Fᵢ(xᵢ) − Fᵢ(bᵢ)) for the chosen baseline b. Lazy: nothing is drawn
    until the arrays are computed, and the values do not depend on ``chunks``.

    Parameters
    ----------
    source : DataArray or Dataset, optional
        Anomalies ``(time, lat, lon)`` (Σ is their shrunk correlation), a Dataset of several
        anomaly variables on one grid (``sst`` and ``slp``; one variable at several lags,
        :func:`xattrib.datasets.lagged`): one joint Σ with every cross-covariance, a grid
        Dataset with a ``mask`` (Σ is a parametric kernel), or None for the bundled Pacific
        SST anomalies.
    n_samples : int
        Number of samples.
    seed : int
        Seeds the response parameters, the samples and the noise.
    chunks : int or "auto"
        Samples per dask chunk. ``"auto"``: as many as keep one chunk of ``x`` near
        :data:`CHUNK_BYTES` (128 MiB), at most 50,000 — 50,000 on the bundled SST grid, 500
        on a 1° global grid, where 50,000 would be 13 GB a chunk.
    response : {"pwl", "linear", "tanh"} or Response
        The family of per-cell functions (``pwl``: Mamalakis et al. 2022). Extra keyword
        arguments go to the family (``n_breakpoints=5`` for pwl, ``sharpness`` for tanh).
    baseline : "zero", "expectation", number, DataArray
        What the truth is relative to: x' = 0 (the original), E[F(X)] (for SHAP-style
        backgrounds), a constant, a (lat, lon) field or a (sample, lat, lon) DataArray.
    covariance : None, dict, ndarray or Covariance
        None: estimated from ``source`` anomalies, or the default parametric kernel for a
        grid; a dict passes keywords to :func:`xattrib.covariances.from_data` or
        :func:`~xattrib.covariances.parametric`; an array is validated and used as Σ.
        The dict may also hold ``strength`` w (0 to 1): x is drawn with the correlation
        strengthened to (1 − w)·R + w·𝟙𝟙ᵀ (Krell et al. 2025;
        :func:`xattrib.covariances.strengthen`), while the response's parameters keep the
        source's own correlation unless ``response_strength`` says otherwise.
    scale : "1/d" or float
        Normalisation of y (the original divides by the number of cells d).
    noise_snr : float, optional
        Add Gaussian noise to y with var(signal) / var(noise) = ``noise_snr``. The truth
        stays noise-free; ``y_signal`` holds the noise-free response.
    dtype : str
        Of ``x`` and ``truth`` (``y`` is float64).
    sample_dim : str, optional
        The sample dimension of ``source`` anomalies, if not obvious.
    space : {"grid", "eof", "fourier", "sht"}
        Where the response acts. ``"grid"``: on every cell (the original). Otherwise
        y = scale · Σₖ Fₖ(sₖ) over K features s = Bᵀ W x of an orthonormal basis
        (:mod:`xattrib.transforms.spaces`: EOFs of the covariance, Fourier basis functions by radial
        wavenumber, or spherical harmonics by degree on a global grid), and ``truth`` is
        over the features: ``truth(sample, mode | fourier_mode | sh_mode)`` with the
        group labels (``wavenumber``, ``degree``) as coordinates. x stays on the grid.
        ``xattrib.transforms.from_benchmark`` gives the matching TRIM transform.
    n_features : int, optional
        K for a transformed space (default min(cells, 50)); ``scale="1/d"`` then divides
        by K.
    variables : list of str, optional
        Several input variables. From a Dataset of anomalies: which of its variables, in
        order (default all of them). On a grid: the names of the fields to draw, each with
        its own kernel and coupled by ``covariance={"cross_correlation": R}``
        (:func:`xattrib.covariances.parametric`). The benchmark then holds each input
        under its own name, its truth as ``truth_<name>``, and one ``y`` =
        scale · Σ over every variable's cells (``scale="1/d"`` divides by all of them);
        ``fit`` trains on all of them as channels and ``score`` scores each and the total
        (``docs/your-data.md``).

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> import xattrib
    >>> bench = xattrib.benchmark(n_samples=2_000, seed=0, chunks=500)
    >>> bench["x"].dims, bench["x"].chunks[0]
    (('sample', 'lat', 'lon'), (500, 500, 500, 500))
    >>> t = bench["truth"].sum(["lat", "lon"]) - bench["y"]  # baseline zero: complete
    >>> float(abs(t).max()) < 1e-5
    True

    Two variables (this winter's SST and last winter's):

    >>> two = xattrib.benchmark(xattrib.datasets.lagged(xattrib.datasets.pacific_sst()),
    ...                         n_samples=1_000, chunks=500)
    >>> sorted(v for v in two.data_vars if v.startswith(("sst", "truth")))
    ['sst_lag0', 'sst_lag1', 'truth_sst_lag0', 'truth_sst_lag1']
    >>> total = sum(two[f"truth_{v}"].sum(["lat", "lon"]) for v in ("sst_lag0", "sst_lag1"))
    >>> float(abs(total - two["y"]).max()) < 1e-5
    True
    """
    n_samples, _ = _check_sizes(n_samples, 1 if chunks == "auto" else chunks, noise_snr)
    cov, param_cov, source = _covariances(source, covariance, sample_dim, variables)
    chunks = _auto_chunks(chunks, cov.cells, dtype, max(len(cov.variables), 1))
    basis = _truth_space(space, cov, n_features)
    k = cov.n_inputs if basis is None else basis.n_features
    response = _checked_response(response, seed, param_cov, basis, response_kwargs, k)
    gen = Generator(cov, response, int(seed), _scale(scale, k), dtype=dtype, space=basis)
    if noise_snr is not None:
        gen.noise_std = float(np.sqrt(gen.pilot_variance() / noise_snr))
    kind, const, per_sample, base_vars = _baseline(baseline, gen, cov.cells, n_samples, chunks)
    _check_names(gen.variables)
    return _assemble(gen, n_samples, chunks, kind, const, per_sample, base_vars, source,
                     noise_snr)


def _check_keywords(name: str, family: Any, response_kwargs: dict[str, Any]) -> None:
    """Extra keywords go to the response family: a misspelt keyword of benchmark() (or of the
    family) gets the closest valid name, not the family's own refusal."""
    own = [p for p in inspect.signature(family.random).parameters
           if p not in ("rng", "corr_factor", "std", "kwargs", "cells")]
    unknown = [k for k in response_kwargs if k not in own]
    if unknown:
        mine = [p for p in inspect.signature(benchmark).parameters if p != "response_kwargs"]
        raise TypeError(
            f"benchmark() got unexpected parameters {unknown};"
            f"{closest_hint(unknown[0], mine + own)} Its keywords: {', '.join(mine)}; the "
            f"response family {name!r} also takes {', '.join(own) or 'nothing'}")


#: the size of one chunk of ``x`` that ``chunks="auto"`` aims at
CHUNK_BYTES = 128 * 2**20


#: names of a benchmark's own variables, which an input variable may not take
RESERVED = ("x", "y", "y_signal", "truth", "mask", "cell_area", "baseline",
            "baseline_response", "covariance", "sample")


def _check_names(variables: tuple[str, ...]) -> None:
    blank = [v for v in variables if not v or any(c.isspace() for c in v)]
    if blank:
        raise ValueError(f"the input variable {blank[0]!r} has a space in its name; name "
                         "variables without spaces (ds.rename({...})): files list them "
                         "space-separated")
    bad = [v for v in variables if v in RESERVED or v.startswith(
        ("truth_", "response_", "covariance_", "space_"))]
    if bad:
        raise ValueError(f"the input variable {bad[0]!r} would collide with the benchmark's "
                         f"own variables ({', '.join(RESERVED)}, truth_*, response_*, "
                         "covariance_*); rename it (ds.rename({...}))")


def _auto_chunks(chunks: int | str, cells: Any, dtype: Any, n_variables: int = 1) -> int:
    if chunks != "auto":
        return int(chunks)
    try:
        itemsize = np.dtype(dtype).itemsize
    except TypeError:  # refused with its own message by the Generator
        itemsize = 4
    per_sample = n_variables * cells.shape[0] * cells.shape[1] * itemsize
    return int(max(100, min(50_000, CHUNK_BYTES // per_sample)))


def _check_sizes(n_samples: Any, chunks: Any, noise_snr: float | None) -> tuple[int, int]:
    if isinstance(chunks, str):
        raise ValueError(f"chunks must be a positive number of samples or 'auto', got "
                         f"{chunks!r}")
    n_samples, chunks = int(n_samples), int(chunks)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    if chunks < 1:
        raise ValueError(f"chunks must be a positive number of samples, got {chunks}")
    if noise_snr is not None and not noise_snr > 0:
        raise ValueError(f"noise_snr must be positive (signal variance / noise variance), "
                         f"got {noise_snr!r}")
    return n_samples, chunks


def _truth_space(space: str, cov: Any, n_features: int | None) -> Any:
    """The orthonormal basis the truth lives in (None: on the grid)."""
    if cov.variables and space != "grid":
        raise ValueError(f"space={space!r} transforms one field; with several variables "
                         f"{list(cov.variables)} the response acts on the grid (space='grid')")
    if space == "grid":
        if n_features is not None:
            raise ValueError("n_features applies to a transformed space (space='eof', "
                             "'fourier' or 'sht')")
        return None
    from ..transforms.spaces import build_space, spaces  # torch: transformed spaces only

    if space not in spaces():
        raise ValueError(f"space must be one of {spaces()}, got {space!r}")
    with one_blas_thread():  # eigenvectors and QR: repeatable bits
        return build_space(space, cov.cells, cov, n_features)


def _scale(scale: str | float, k: int) -> float:
    if isinstance(scale, str):
        if scale != "1/d":
            raise ValueError(f"scale must be '1/d' or a number, got {scale!r}")
        return 1.0 / k
    return float(scale)


def _response(response: str | Response, seed: int, cov: Any, basis: Any,
              response_kwargs: dict[str, Any]) -> Response:
    """A family's random parameters (spatially correlated through Σ's correlation, or
    independent per feature in a transformed space), or the given response."""
    if not isinstance(response, str):
        if response_kwargs:
            raise TypeError(f"response parameters {sorted(response_kwargs)} need a family "
                            "name")
        return response
    family = RESPONSES.get(response, what="response")
    _check_keywords(response, family, response_kwargs)
    rng = block_rng(seed, STREAM_PARAMS, 0)
    with one_blas_thread():  # LAPACK rounds differently with the thread count
        if basis is None:  # through the benchmark's own sampler, never a d × d matrix
            corr_l = cov.correlation_draws()
            std = cov.std
        else:  # independent parameters per feature, scaled by the feature's spread
            corr_l = QuantisedFactor.from_matrix(np.eye(basis.n_features))
            std = np.sqrt(cov.quadratic(basis.analysis))  # diag(A Σ Aᵀ), Σ never formed
    if family.needs_cells and basis is None:  # regions are drawn on the grid's geometry
        if cov.variables:
            raise ValueError(f"the response {response!r} draws its interacting regions on one "
                             f"field; with several variables {list(cov.variables)} use an "
                             "additive family (pwl, linear, tanh)")
        response_kwargs = {**response_kwargs, "cells": cov.cells}
    return family.random(rng, corr_l, std, **response_kwargs)


def _assemble(gen: Generator, n: int, chunks: int, kind: str, const: np.ndarray | None,
              per_sample: dsa.Array | None, base_vars: dict[str, Any], source: Any,
              noise_snr: float | None) -> xr.Dataset:
    """The lazy arrays, chunk by chunk, in the benchmark Dataset of :mod:`.schema`."""
    x, y, truth, kinds = _lazy_blocks(gen, n, chunks, const, per_sample)
    y_signal = None
    if noise_snr:
        y_signal, y = y, y + _noise_array(gen, n, chunks)
    ds = encode(gen, n, x, y, truth, y_signal, kind, base_vars, source, noise_snr, kinds)
    if len(_UNTOUCHED) >= _UNTOUCHED_MAX:
        _UNTOUCHED.pop(next(iter(_UNTOUCHED)))
    first = gen.variables[0] if gen.variables else "x"
    _UNTOUCHED[ds[first].data.name] = ds["y"].data.name
    return ds


def _lazy_blocks(gen: Generator, n: int, chunks: int, const: np.ndarray | None,
                 per_sample: dsa.Array | None
                 ) -> tuple[dsa.Array, dsa.Array, dsa.Array, dict[str, dsa.Array]]:
    """x, y, truth and the other truth kinds as dask arrays of one task per chunk (the
    generator is one key)."""
    flat, shape2, one = _input_layout(gen)
    gen_d = dask.delayed(gen, pure=True)
    kinds = gen.truth_kinds
    xs, ys, ts = [], [], []
    ks: list[list[dsa.Array]] = [[] for _ in kinds]
    for s, e in _chunk_bounds(n, chunks):
        base: Any = const if per_sample is None else per_sample[s:e]
        part = dask.delayed(_block, pure=True, nout=3 + len(kinds))(
            gen_d, s, e, base, per_sample is not None, flat, shape2)
        xs.append(dsa.from_delayed(part[0], (e - s, *shape2), dtype=gen.dtype))
        ys.append(dsa.from_delayed(part[1], (e - s,), dtype=np.float64))
        ts.append(dsa.from_delayed(part[2], (e - s, *shape2) if gen.space is None else
                                   (e - s, gen.n_features), dtype=gen.dtype))
        for j, lst in enumerate(ks):
            lst.append(dsa.from_delayed(part[3 + j], (e - s, *shape2), dtype=gen.dtype))
    if gen.variables:  # (n, V·ny, nx) → (n, V, ny, nx): a free reshape of each chunk
        return (dsa.concatenate(xs).reshape((n, *one)), dsa.concatenate(ys),
                dsa.concatenate(ts).reshape((n, *one)), {})
    return (dsa.concatenate(xs), dsa.concatenate(ys), dsa.concatenate(ts),
            {k: dsa.concatenate(lst) for k, lst in zip(kinds, ks, strict=True)})


#: dask names of benchmark (x, y) pairs exactly as :func:`benchmark` made them. A Dataset still
#: holding both can be read straight from its generator (``fit`` does): any selection,
#: arithmetic or rechunking renames the arrays, so a match means the values are the
#: generator's own. Names only (a few hundred bytes each), bounded.
_UNTOUCHED: dict[str, str] = {}
_UNTOUCHED_MAX = 1024


def is_untouched(ds: xr.Dataset, x: str = "x", y: str = "y") -> bool:
    """Whether ``ds[x]``, ``ds[y]`` are a lazy benchmark's arrays, unmodified and not yet
    computed: its generator then gives the same values without running the graph."""
    xa, ya = ds[x].data if x in ds else None, ds[y].data if y in ds else None
    if not (isinstance(xa, dsa.Array) and isinstance(ya, dsa.Array)):
        return False
    if _UNTOUCHED.get(xa.name) != ya.name:
        return False
    # persisted: the graph holds the chunks themselves, and reading them beats drawing
    return len(xa.__dask_graph__()) > xa.npartitions


def _noise_array(gen: Generator, n: int, chunks: int) -> dsa.Array:
    parts = [dsa.from_delayed(dask.delayed(gen.noise, pure=True)(s, e), (e - s,), np.float64)
             for s, e in _chunk_bounds(n, chunks)]
    return dsa.concatenate(parts)
