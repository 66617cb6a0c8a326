"""The pieces every attribution Dataset shares (heatmaps on the grid and TRIM's groups).

One builder for the method coordinates, the heatmap attributes, ``completeness_error``,
``prediction``, the sample coordinate and the global attributes, so the outputs of
:func:`xattrib.attribute` and :func:`xattrib.trim` cannot drift apart. Unknown values (a
wrapped network's R²) are left out rather than written as NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from ..dims import METHOD_DIM
from ..grid import tidy_attrs
from ..methods import Method

__all__ = ["global_attrs", "heat_attrs", "method_coords", "per_sample_vars", "sample_coord",
           "units_of", "y_units"]


def y_units(ds: xr.Dataset, output_units: str | None = None) -> str:
    """The explained output's units: a benchmark's ``y``, else what the model records
    (``Model.from_module(..., units=)``), else ``"1"``."""
    if "y" in ds and "units" in ds["y"].attrs:
        return str(ds["y"].attrs["units"])
    return output_units or "1"


def units_of(ds: xr.Dataset, x: str, m: Method, output_units: str | None = None) -> str:
    """Units of ``m``'s attributions to variable ``x``: the output's, or output per unit of
    ``x`` for gradients."""
    yu = y_units(ds, output_units)
    xu = str(ds[x].attrs.get("units", "1")) if x in ds else "1"
    if not m.gradient_units or xu == "1":
        return yu
    return f"{yu} ({xu})-1" if yu != "1" else f"({xu})-1"


def _known(**values: float) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if v is not None and not math.isnan(v)}


def method_coords(chosen: list[Method]) -> dict[str, xr.Variable]:
    return {
        METHOD_DIM: xr.Variable(METHOD_DIM, [m.name for m in chosen],
                                {"long_name": "attribution method"}),
        "complete": xr.Variable(METHOD_DIM, [m.complete for m in chosen],
                                {"long_name": "method is complete"}),
        "positive_only": xr.Variable(METHOD_DIM, [m.positive_only for m in chosen],
                                     {"long_name": "method returns non-negative relevance"}),
    }


def heat_attrs(ds: xr.Dataset, variable: str, model: Any, chosen: list[Method],
               per_params: dict[str, dict[str, Any]], baseline_kind: str, long_name: str,
               skip_params: tuple[str, ...] = (), output_units: str | None = None
               ) -> dict[str, Any]:
    """Attributes of an attribution variable: what it is, its units (per method where they
    differ), the baseline, the network and every method's parameters."""
    units = {m.name: units_of(ds, variable, m, output_units) for m in chosen}
    common = set(units.values())
    return {
        "long_name": long_name,
        "units": common.pop() if len(common) == 1 else "1",
        "baseline": baseline_kind,
        "ancillary_variables": "completeness_error",
        "model_arch": model.arch,
        **_known(model_r2=model.r2, model_linear_r2=model.linear_r2),
        **{f"parameters_{m.name}": ", ".join(
            f"{k}={v}" for k, v in per_params[m.name].items()
            if k not in skip_params and not k.startswith("_"))
           or "none" for m in chosen},
        **{f"units_{k}": u for k, u in units.items()},
    }


def per_sample_vars(ds: xr.Dataset, sample_dim: str, completeness: Any, prediction: Any,
                    completeness_long_name: str, output_units: str | None = None
                    ) -> dict[str, xr.Variable]:
    """``completeness_error(xai_method, sample)`` and, when computed, ``prediction(sample)``."""
    yu = y_units(ds, output_units)
    out = {"completeness_error": xr.Variable(
        (METHOD_DIM, sample_dim), completeness,
        {"long_name": completeness_long_name, "units": yu})}
    if prediction is not None:
        out["prediction"] = xr.Variable(
            (sample_dim,), prediction, {"long_name": "network prediction of the response",
                                        "units": yu})
    return out


def sample_coord(da: xr.DataArray, sample_dim: str) -> dict[str, xr.Variable]:
    """The input's sample coordinate, without attributes that stop holding (its ``bounds``
    variable is not carried over)."""
    if sample_dim not in da.coords:
        return {}
    return {sample_dim: tidy_attrs(xr.Dataset(coords={sample_dim: da[sample_dim]}))[
        sample_dim].variable}


def global_attrs(ds: xr.Dataset, model: Any, baseline_kind: str, title: str,
                 **extra: Any) -> dict[str, Any]:
    """The benchmark's ``xattrib_*`` attributes carried over, the attribution's baseline
    (the truth's own kept as ``xattrib_truth_baseline``), the network's R² where known."""
    bench = {k: v for k, v in ds.attrs.items() if k.startswith("xattrib_")}
    truth_baseline = bench.pop("xattrib_baseline", None)
    return _netcdf_safe({
        "title": title, **bench, **extra, "xattrib_baseline": baseline_kind,
        **{f"xattrib_{k}": v for k, v in _known(model_r2=model.r2).items()},
        **({"xattrib_truth_baseline": truth_baseline} if truth_baseline else {})})


def _netcdf_safe(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in attrs.items():
        if isinstance(v, bool):
            v = int(v)
        elif isinstance(v, list | tuple):
            v = np.asarray(v)
        elif v is None:
            v = "none"
        out[k] = v
    return out
