"""The model file: how an :class:`~xattrib.Model` is written and read.

A netCDF file of plain arrays (state-dict tensors, normalisation, the grid mask) plus JSON
attributes (architecture keyword arguments, history) — never a pickled module, so a model
file can be inspected with any netCDF tool. Reading runs no code the file names: a user's
factory runs only when the caller supplies or allows it (:mod:`.factories`). The container,
:class:`~xattrib.Model`, keeps ``to_dataset``, ``save``, ``load`` and ``from_dataset`` as
its methods; they call these functions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..grid.cells import CellIndex
from ..io import open_dataset, to_netcdf
from .factories import bind_kwargs, call_factory, check_state_shapes, plain_kwargs, resolve_factory

__all__ = ["check_savable", "from_dataset", "load", "save", "to_dataset"]

# ``model`` is an :class:`~xattrib.Model` throughout (typed Any: model.py imports this module)


def to_dataset(model: Any) -> xr.Dataset:
    """The model as one Dataset: parameters, normalisation, the grid, JSON attributes."""
    ds = model.cells.to_dataset()
    for key, tensor in model.module.state_dict().items():
        name = "param_" + key.replace(".", "_")
        arr = tensor.detach().cpu().numpy()
        if arr.dtype == np.int64:  # CF-1.8 has no int64
            arr = arr.astype(np.int32)
        ds[name] = (tuple(f"{name}_d{i}" for i in range(arr.ndim)), arr,
                    {"long_name": f"network parameter {key}", "state_dict_key": key})
    ds["x_mean"] = ("input_cell", model.x_mean, {"long_name": "input mean", "units": "1"})
    ds["x_std"] = ("input_cell", model.x_std, {"long_name": "input std", "units": "1"})
    ds["y_mean"] = ("output", np.atleast_1d(np.asarray(model.y_mean, float)),
                    {"long_name": "output mean", "units": "1"})
    ds["y_std"] = ("output", np.atleast_1d(np.asarray(model.y_std, float)),
                   {"long_name": "output std", "units": "1"})
    ds = ds.assign_coords(output=("output", list(model.outputs),
                                  {"long_name": "network output"}))
    ds.attrs.update({
        "title": f"xattrib model ({model.arch})", "xattrib_arch": model.arch,
        "xattrib_arch_kwargs": json.dumps(model.arch_kwargs),
        "xattrib_variables": json.dumps(list(model.variables)),
        **({"xattrib_module_spec": json.dumps(model.spec.to_json())}
           if model.spec is not None else {}),
        "xattrib_r2": model.r2, "xattrib_linear_r2": model.linear_r2,
        "xattrib_history": json.dumps(model.history),
        "xattrib_provenance": json.dumps(model.provenance),
        **({"xattrib_output_units": json.dumps(model.units)} if model.units else {}),
    })
    return ds


def check_savable(model: Any) -> None:
    """Raise, saying why, if ``model`` cannot be written to a file."""
    if model.arch in ("exact-space", "exact-interacting"):
        raise ValueError("the exact F of a transformed-space or interacting benchmark is "
                         "rebuilt from the benchmark (Model.exact(bench)); it is not "
                         "saved to a file")
    if model.arch == "module-instance":
        raise ValueError("this model was trained from a module instance (fit(arch=net)); "
                         "to save it, train with arch='package.module:function' and its "
                         "keyword arguments, which the file records")
    if model.spec is not None and not model.spec.factory:
        raise ValueError("this model wraps your own module: pass factory='package.module:"
                         "function' (and factory_kwargs) to Model.from_module so a saved "
                         "model can rebuild it without pickling code")


def save(model: Any, path: str | os.PathLike) -> Path:
    """Write ``model`` to a netCDF file (atomically; no pickled code)."""
    check_savable(model)
    return to_netcdf(to_dataset(model), path, title=f"xattrib model ({model.arch})")


def load(cls: Any, path: str | os.PathLike, factory: Any = None,
         trusted: str | list[str] | tuple[str, ...] = ()) -> Any:
    """The model in the file at ``path`` (see :meth:`xattrib.Model.load`); a file that is
    not one is refused with a one-line error naming it."""
    if not Path(path).exists():
        raise FileNotFoundError(f"model file {os.fspath(path)!r} does not exist")
    try:
        with open_dataset(path) as ds:
            ds = ds.load()
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ValueError(f"cannot read {os.fspath(path)!r} as an xattrib model file (netCDF): "
                         f"{' '.join(str(err).split())[:200]}") from None
    if "xattrib_arch" not in ds.attrs:
        raise ValueError(f"{path} is not an xattrib model file (no xattrib_arch attribute)")
    return from_dataset(cls, ds, factory, trusted, f"the model file {os.fspath(path)!r}")


def from_dataset(cls: Any, ds: xr.Dataset, factory: Any = None,
             trusted: str | list[str] | tuple[str, ...] = (),
             source: str = "the model Dataset") -> Any:
    """The model a :func:`to_dataset` Dataset describes; no code it names runs unless the
    caller supplies or approves it."""
    import torch

    from .wrapping import ModuleSpec

    cells = CellIndex.from_dataset(ds)
    a = ds.attrs
    arch = str(a["xattrib_arch"])
    params = {str(ds[n].attrs["state_dict_key"]): ds[n] for n in ds.data_vars
              if "state_dict_key" in ds[n].attrs}
    shapes = {k: tuple(v.shape) for k, v in params.items()}
    ym, ys = ds["y_mean"].values, ds["y_std"].values
    x_mean, x_std = ds["x_mean"].values, ds["x_std"].values
    if "xattrib_module_spec" in a:
        spec = _read_spec(_json_attr(a, "xattrib_module_spec", source), ModuleSpec, source)
        kwargs = plain_kwargs(spec.factory_kwargs, f"factory_kwargs in {source}")
        fn = resolve_factory(str(spec.factory), factory, trusted, source)
        module, kwargs = call_factory(fn, kwargs, shapes, f"the factory {spec.factory!r}")
        model = cls(module, "module", {}, cells, x_mean, x_std, 0.0, 1.0,
                    variables=_json_attr(a, "xattrib_variables", source), spec=spec)
        model.y_mean, model.y_std = ym, ys
    else:
        kwargs = plain_kwargs(_json_attr(a, "xattrib_arch_kwargs", source),
                              f"xattrib_arch_kwargs in {source}")
        if ":" in arch:  # a network trained by fit(arch=your_factory)
            fn = resolve_factory(arch, factory, trusted, source)
            module, kwargs = call_factory(fn, kwargs, shapes, f"the factory {arch!r}")
            model = cls(module, arch, kwargs, cells, x_mean, x_std, float(ym[0]),
                        float(ys[0]))
        else:
            names = _json_attr(a, "xattrib_variables", source, ["x"])
            model = _build_registered(cls, arch, cells, kwargs, shapes, source,
                                      (x_mean, x_std, float(ym[0]), float(ys[0])),
                                      len(names))
        model.variables = _json_attr(a, "xattrib_variables", source, ["x"])
    model.outputs = [str(o) for o in ds["output"].values]
    own = model.module.state_dict()
    model.module.load_state_dict({k: torch.as_tensor(v.values).to(own[k].dtype)
                                  for k, v in params.items()})
    model.module.eval()
    model.r2, model.linear_r2 = float(a["xattrib_r2"]), float(a["xattrib_linear_r2"])
    model.history = _json_attr(a, "xattrib_history", source, [])
    model.provenance = _json_attr(a, "xattrib_provenance", source, {})
    units = _json_attr(a, "xattrib_output_units", source, {})
    if not isinstance(units, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in units.items()):
        raise ValueError(f"{source}: xattrib_output_units must map output names to units")
    model.units = units
    return model


def _json_attr(attrs: dict[str, Any], key: str, source: str, default: Any = None) -> Any:
    """A JSON attribute of a model file, parsed as data (json never builds objects)."""
    if key not in attrs:
        if default is not None:
            return default
        raise ValueError(f"{source} has no {key} attribute; it is damaged or not from xattrib")
    try:
        return json.loads(attrs[key])
    except (TypeError, ValueError):
        raise ValueError(f"{source}: attribute {key} is not valid JSON") from None


def _read_spec(values: Any, spec_cls: Any, source: str) -> Any:
    """The stored :class:`~xattrib.training.wrapping.ModuleSpec`, its fields checked as data."""
    from dataclasses import fields

    from .wrapping import LAYOUTS

    names = {f.name for f in fields(spec_cls)}
    if not isinstance(values, dict) or set(values) - names:
        extra = sorted(set(values) - names) if isinstance(values, dict) else values
        raise ValueError(f"{source}: xattrib_module_spec has unknown entries {extra}")
    spec = spec_cls(**values)
    if spec.layout not in LAYOUTS or not isinstance(spec.factory, str):
        raise ValueError(f"{source}: xattrib_module_spec needs a layout among {LAYOUTS} and a "
                         f"factory name; got layout {spec.layout!r}, factory {spec.factory!r}")
    return spec


def _build_registered(cls: Any, arch: str, cells: CellIndex, kwargs: dict[str, Any],
                      shapes: dict[str, tuple[int, ...]], source: str,
                      norm: tuple[Any, ...], n_variables: int = 1) -> Any:
    """One of xattrib's own networks, by registry name, checked against the stored shapes."""
    from ..architectures import ARCHITECTURES

    if arch not in ARCHITECTURES:
        raise ValueError(f"{source} names the architecture {arch!r}, which is none of "
                         f"xattrib's {ARCHITECTURES.names()} and no 'package.module:function' "
                         "factory; the file is damaged or from another program")
    member = ARCHITECTURES.get(arch)
    grid = member.grid_inputs(cells) if n_variables == 1 else member.grid_inputs(cells,
                                                                                  n_variables)
    bind_kwargs(member.module, {**grid, **kwargs}, f"xattrib_arch_kwargs in {source}")
    model = cls.build(arch, cells, kwargs, *norm, n_variables=n_variables)
    check_state_shapes(model.module, shapes, f"{source} ({arch})")
    return model
