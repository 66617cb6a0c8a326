"""The benchmark Dataset: how a generator and its draws are written (encode) and read (decode).

One place for the layout every writer and reader of a benchmark shares: the variables
(``x``, ``y``, ``truth``, ``mask``, ``cell_area``, the baseline, the response parameters,
the covariance or its kernel, a transformed space's basis) and the ``xattrib_*`` attributes.
:func:`encode` builds it around lazy arrays, :func:`generator_from_dataset` rebuilds the exact
:class:`~xattrib.generation.generator.Generator` from it — from the Dataset ``benchmark``
returned or from a netCDF/zarr file — resolving names only through the registries, never by
import. A transformed space's part is the transform family's own codec
(:mod:`xattrib.transforms.spaces`).
"""

from __future__ import annotations

from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from ..covariances import (
    Covariance,
    LowRankCovariance,
    SpectralCovariance,
    parametric,
    strengthen,
)
from ..grid import CellIndex, cell_area
from ..io import package_version
from ..responses import RESPONSES, response_from_params
from ..responses.interacting import KIND_DESCRIPTIONS
from .generator import BLOCK, SAMPLING, Generator

__all__ = ["encode", "generator_from_dataset", "input_variables", "is_benchmark"]

#: what a Dataset needs to be decoded
REQUIRED = ("mask", "xattrib_seed", "xattrib_response_family")


def input_variables(ds: xr.Dataset) -> list[str]:
    """The input variables of a benchmark of several (``xattrib_variables``); none for a
    benchmark of one field (its input is ``x``)."""
    return str(ds.attrs.get("xattrib_variables", "")).split()


def is_benchmark(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is a benchmark whose generator :func:`generator_from_dataset` can
    rebuild."""
    return all(k in ds or k in ds.attrs for k in REQUIRED)


def encode(gen: Generator, n: int, x: dsa.Array, y: dsa.Array, truth: dsa.Array,
           y_signal: dsa.Array | None, kind: str, base_vars: dict[str, Any], source: Any,
           noise_snr: float | None, kinds: dict[str, dsa.Array] | None = None) -> xr.Dataset:
    """The benchmark Dataset of ``gen``'s first ``n`` draws (``x``, ``y``, ``truth``, and
    ``truth_<kind>`` for each other kind of an interacting response)."""
    cells = gen.covariance.cells
    units_x = "1" if gen.covariance.attrs.get("covariance_kind", "correlation") == \
        "correlation" else str(getattr(source, "attrs", {}).get("units", "1"))
    ds = xr.Dataset(coords=_coords(cells, n))
    _add_draws(ds, gen, x, y, truth, y_signal, kind, units_x, noise_snr)
    if gen.variables:
        _split_variables(ds, gen, source, units_x)
    _add_kinds(ds, gen, kinds or {}, kind)
    ds["mask"] = cells.mask.assign_attrs(long_name="valid cells",
                                         flag_meanings="invalid valid")
    ds["cell_area"] = cell_area(source if isinstance(source, xr.Dataset) else ds)
    _add_baseline(ds, gen, base_vars, units_x)
    _add_parameters(ds, gen)
    ds.attrs.update(_attrs(gen, kind, noise_snr))
    return ds


def _coords(cells: CellIndex, n: int) -> dict[Any, Any]:
    coords: dict[Any, Any] = {c: cells.mask[c] for c in cells.mask.coords}
    idx_dtype = np.int32 if n < 2**31 else np.float64  # CF-1.8 has no int64
    coords["sample"] = ("sample", np.arange(n, dtype=idx_dtype),
                        {"long_name": "sample index in the generator's stream", "units": "1"})
    return coords


def _add_draws(ds: xr.Dataset, gen: Generator, x: dsa.Array, y: dsa.Array, truth: dsa.Array,
               y_signal: dsa.Array | None, kind: str, units_x: str,
               noise_snr: float | None) -> None:
    sdims = ["variable"] * bool(gen.variables) + list(gen.covariance.cells.spatial.dims)
    sp = gen.space
    ds["x"] = (("sample", *sdims), x, {
        "long_name": "input field", "units": units_x,
        "description": "X ~ MVN(0, covariance) on valid cells, NaN elsewhere"})
    y_attrs = {"long_name": "response", "units": "1",
               "description": "y = scale * sum_i F_i(x_i)" + (" + noise" if noise_snr else "")}
    if y_signal is not None:
        ds["y_signal"] = ("sample", y_signal, {**y_attrs, "long_name": "noise-free response",
                                               "description": "scale * sum_i F_i(x_i)"})
    ds["y"] = ("sample", y, y_attrs)
    if sp is not None:
        for name, (values, attrs) in sp.coords.items():
            ds.coords[name] = (sp.feature_dim, values, attrs)
        if sp.group is not None:
            ds.coords[sp.group[0]] = (sp.feature_dim, sp.group[1], sp.group[2])
    fdims = sdims if sp is None else [sp.feature_dim]
    ds["truth"] = (("sample", *fdims), truth, {
        "long_name": "ground-truth attribution" + (
            "" if sp is None else f" to each {sp.name} feature"), "units": "1",
        "baseline": kind,
        "description": "scale * (F_i(x_i) - F_i(baseline_i)); sums to y - F(baseline)"
        if sp is None else "scale * (F_k(s_k) - F_k(b_k)), s = B^T W x (space_synthesis B, "
                           "space_weight W); sums to y - F(baseline)"})


def _split_variables(ds: xr.Dataset, gen: Generator, source: Any, units_x: str) -> None:
    """Several variables: each input under its own name, its truth as ``truth_<name>``
    (``x`` and ``truth`` arrive with a leading variable axis)."""
    x, truth = ds["x"], ds["truth"]
    del ds["x"], ds["truth"]
    names = list(gen.variables)
    for i, v in enumerate(names):
        own = getattr(source, "data_vars", {})
        units = units_x if units_x == "1" or v not in own else str(
            source[v].attrs.get("units", "1"))
        long = str(source[v].attrs.get("long_name", v)) if v in own else v
        ds[v] = x.isel(variable=i).assign_attrs(
            long_name=f"input field {long}", units=units,
            description=f"variable {i + 1} of {len(names)}: X ~ MVN(0, covariance) jointly "
                        "over every variable's valid cells (with their cross-covariances), "
                        "NaN elsewhere")
        ds[f"truth_{v}"] = truth.isel(variable=i).assign_attrs(
            {**truth.attrs, "long_name": f"ground-truth attribution to {v}",
             "input_variable": v, "description": "scale * (F_i(x_i) - F_i(baseline_i)) on "
             f"the cells of {v}; summed with the other variables' truths it gives "
             "y - F(baseline)"})


def _add_kinds(ds: xr.Dataset, gen: Generator, kinds: dict[str, dsa.Array], kind: str) -> None:
    """An interacting response's ``truth`` is its Shapley value; the other kinds beside it."""
    if gen.response.additive:
        return

    sdims = list(gen.covariance.cells.spatial.dims)
    ds["y"].attrs["description"] = ds["y"].attrs["description"].replace(
        "sum_i F_i(x_i)", "F(x), an additive part plus interactions")
    ds["truth"].attrs.update(truth_kind="shapley", description="scale * " +
                             KIND_DESCRIPTIONS["shapley"])
    for k, arr in kinds.items():
        ds[f"truth_{k}"] = (("sample", *sdims), arr, {
            "long_name": f"ground-truth attribution ({k})", "units": "1", "baseline": kind,
            "truth_kind": k, "description": "scale * " + KIND_DESCRIPTIONS[k]})


def _add_baseline(ds: xr.Dataset, gen: Generator, base_vars: dict[str, Any],
                  units_x: str) -> None:
    """The truth's baseline input (per cell or per sample) and scale·F(baseline)."""
    cells, sp = gen.covariance.cells, gen.space
    for name, values in base_vars.items():
        if isinstance(values, dsa.Array):
            ds[name] = cells.unstack(xr.DataArray(values, dims=("sample", "cell")))
        elif name == "baseline_response" and sp is not None:  # over the features
            ds[name] = xr.DataArray(np.asarray(values), dims=(sp.feature_dim,))
        else:
            ds[name] = unstack_inputs(cells, np.asarray(values), gen.variables)
    if "baseline" in ds:
        ds["baseline"].attrs.update(long_name="baseline input of the truth", units=units_x)
    if "baseline_response" in ds:
        ds["baseline_response"].attrs.update(
            long_name="scale * F_i(baseline) subtracted in the truth", units="1")


def _add_parameters(ds: xr.Dataset, gen: Generator) -> None:
    """What rebuilds F and Σ: the response parameters, the basis, the covariance."""
    from ..transforms.spaces import space_variables  # torch: only for transformed spaces

    cells, sp = gen.covariance.cells, gen.space
    fdims = list(cells.spatial.dims) if sp is None else [sp.feature_dim]
    for pname, values in gen.response.params.items():
        if pname in gen.response.scalar_params:  # attributes (Response.describe)
            continue
        pdims = gen.response.param_dims[pname]
        if sp is None:
            arr = unstack_inputs(cells, np.asarray(values), gen.variables, pdims)
        else:
            arr = xr.DataArray(np.asarray(values), dims=(sp.feature_dim, *pdims))
        lead = ["variable"] * bool(gen.variables)
        ds[f"response_{pname}"] = arr.transpose(*lead, *pdims, *fdims).assign_attrs(
            long_name=f"{gen.response.name} response parameter {pname}", units="1")
    if sp is not None:
        ds.update(space_variables(sp, cells))
    _add_covariance(ds, gen.covariance)


def unstack_inputs(cells: CellIndex, values: np.ndarray, variables: tuple[str, ...],
                   pdims: tuple[str, ...] = ()) -> xr.DataArray:
    """``(V·d, *pdims)`` values over the inputs → gridded, with a ``variable`` dimension
    (labelled by name) when there are several variables."""
    if not variables:
        return cells.unstack(xr.DataArray(values, dims=("cell", *pdims)))
    per = values.reshape(len(variables), cells.n_cells, *values.shape[1:])
    out = cells.unstack(xr.DataArray(per, dims=("variable", "cell", *pdims)))
    return out.assign_coords(variable=("variable", list(variables)))


def stack_inputs(cells: CellIndex, da: xr.DataArray, pdims: tuple[str, ...] = ()
                 ) -> np.ndarray:
    """Inverse of :func:`unstack_inputs`: ``(V·d, *pdims)``."""
    if "variable" not in da.dims:
        return cells.stack(da.transpose(*pdims, *cells.spatial.dims)).transpose(
            "cell", *pdims).values
    st = cells.stack(da.transpose("variable", *pdims, *cells.spatial.dims))
    vals = st.transpose("variable", "cell", *pdims).values
    return vals.reshape(-1, *vals.shape[2:])


def _add_covariance(ds: xr.Dataset, cov: Any) -> None:
    """What rebuilds Σ, in the sampler's own form (never a d × d matrix it did not have):
    the matrix (dense from data), the factor and diagonal (lowrank), the spectrum (spectral);
    a dense kernel is rebuilt from its attributes alone."""
    if isinstance(cov, LowRankCovariance):
        ds["covariance_factor"] = (("cell", "covariance_rank"), cov.u, {
            "long_name": "low-rank factor U of the covariance U U^T + diag(s^2) over valid "
                         "cells (row-major lat, lon order)", "units": "1"})
        ds["covariance_diagonal"] = (("cell",), cov.diagonal, {
            "long_name": "s of the covariance U U^T + diag(s^2)", "units": "1"})
    elif isinstance(cov, SpectralCovariance):
        ds["covariance_spectrum"] = (("covariance_degree",), cov.spectrum, {
            "long_name": "angular power spectrum C_l of the input fields", "units": "1"})
    elif cov.attrs.get("covariance_source") != "parametric":
        ds["covariance"] = (("cell", "cell_t"), cov.matrix, {
            "long_name": "covariance of x over valid cells (row-major lat, lon order)",
            "units": "1"})


def _attrs(gen: Generator, kind: str, noise_snr: float | None) -> dict[str, Any]:
    sp = gen.space
    nv = len(gen.variables)
    return {
        "title": f"xattrib attribution benchmark ({gen.response.name}, "
                 f"{gen.covariance.cells.n_cells} cells"
                 + (f" × {nv} variables)" if nv else ")"),
        **({"xattrib_variables": " ".join(gen.variables)} if nv else {}),
        "xattrib_seed": int(gen.seed), "xattrib_scale": float(gen.scale),
        "xattrib_noise_std": float(gen.noise_std), "xattrib_sampling_block": BLOCK,
        "xattrib_sampling": SAMPLING,
        "xattrib_dtype": str(gen.dtype), "xattrib_baseline": kind,
        "xattrib_space": "grid" if sp is None else sp.name,
        **({} if sp is None else {"xattrib_space_feature_dim": sp.feature_dim,
                                  "xattrib_space_group": sp.group[0] if sp.group else ""}),
        **({"xattrib_noise_snr": float(noise_snr)} if noise_snr else {}),
        **{f"xattrib_{k}": v for k, v in gen.response.describe().items()},
        **({} if gen.response.additive else {
            "xattrib_truth_kinds": " ".join(("shapley", *gen.truth_kinds))}),
        **{f"xattrib_{k}": v for k, v in gen.covariance.attrs.items()},
        "xattrib_version": package_version(),
    }


def generator_from_dataset(ds: xr.Dataset) -> Generator:
    """Rebuild the exact :class:`~xattrib.generation.generator.Generator` of a benchmark
    Dataset (the one ``benchmark`` returned, or one read back from netCDF or zarr)."""
    missing = [k for k in REQUIRED if k not in ds and k not in ds.attrs]
    if missing:
        raise ValueError(f"not an xattrib benchmark Dataset: missing {missing}")
    cells = CellIndex.from_mask(ds["mask"].astype(bool))
    a = ds.attrs
    family = a["xattrib_response_family"]
    if family not in RESPONSES:  # a registry name only: a file never names code to import
        raise ValueError(f"the benchmark names the response family {family!r}, which is none "
                         f"of {RESPONSES.names()}; the file is damaged or from a newer xattrib")
    sp = None
    if a.get("xattrib_space", "grid") != "grid":
        from ..transforms.spaces import space_from_dataset  # torch: transformed spaces only

        sp = space_from_dataset(ds, cells)
    params = {}
    for pname in RESPONSES.get(family).scalar_params:
        params[pname] = np.asarray(float(a[f"xattrib_response_{pname}"]))
    variables = tuple(input_variables(ds))
    for pname, pdims in RESPONSES.get(family).param_dims.items():
        v = ds[f"response_{pname}"]
        if sp is None:
            if variables:
                v = v.sel(variable=list(variables))
            params[pname] = stack_inputs(cells, v, tuple(pdims))
        else:
            params[pname] = v.transpose(sp.feature_dim, *pdims).values
    params = {k: params[k] for k in RESPONSES.get(family).param_dims} | {
        k: params[k] for k in RESPONSES.get(family).scalar_params}  # per-cell ones first
    return Generator(_covariance(ds, cells, variables), response_from_params(family, params),
                     seed=int(a["xattrib_seed"]), scale=float(a["xattrib_scale"]),
                     noise_std=float(a["xattrib_noise_std"]),
                     dtype=a.get("xattrib_dtype", "float32"), space=sp)


def _covariance(ds: xr.Dataset, cells: CellIndex, variables: tuple[str, ...] = ()) -> Any:
    """The stored Σ in its sampler's form, or the parametric kernel its attributes name (a
    registry name)."""
    a = ds.attrs
    attrs = {k[len("xattrib_"):]: v for k, v in a.items() if k.startswith("xattrib_covariance_")}
    if "covariance_factor" in ds:
        return LowRankCovariance(ds["covariance_factor"].transpose("cell", ...).values,
                                 ds["covariance_diagonal"].values, cells, attrs, variables)
    if "covariance_spectrum" in ds:
        return SpectralCovariance(ds["covariance_spectrum"].values,
                                  float(a["xattrib_covariance_variance"]), cells, attrs,
                                  lmax=int(a["xattrib_covariance_lmax"]))
    if "covariance" in ds:
        return Covariance(ds["covariance"].values, cells, attrs, variables)
    kw = {"kernel": a["xattrib_covariance_kernel"],
          "length_scale_km": a["xattrib_covariance_length_scale_km"],
          "variance": a["xattrib_covariance_variance"]}
    if "xattrib_covariance_nu" in a:
        kw["nu"] = a["xattrib_covariance_nu"]
    cov = strengthen(parametric(cells, **kw), float(a.get("xattrib_covariance_strength", 0)))
    cov.attrs = {**cov.attrs, **attrs}
    return cov
