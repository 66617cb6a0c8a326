"""Users' own torch networks, wrapped to read stacked valid cells and return one output.

:meth:`xattrib.Model.from_module` builds a :class:`ModuleSpec` (how the user's module reads
its input and what it returns) and :class:`Wrapped` is the network attribution methods see:
``(batch, C·d)`` valid cells of C variables → normalise → (for grid layouts) scatter onto the
grid with invalid cells filled → the user's module → pick one output → de-normalise →
``(batch, 1)``. Every step outside the user's module is linear, so DeepLIFT, IG and the
perturbation methods see exactly the user's network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn

from ..generation import is_benchmark
from ..grid import require_xarray
from ..grid.cells import CellIndex
from .factories import bind_kwargs, check_state_shapes, factory_name, plain_kwargs

__all__ = ["LAYOUTS", "ModuleSpec", "Wrapped", "probe_input", "wrap_module"]

#: how a user's module reads its input: stacked valid cells (variables concatenated), one
#: field (batch, lat, lon), or channels (batch, variable, lat, lon)
LAYOUTS = ("cells", "grid", "grid_channels")


@dataclass
class ModuleSpec:
    """How to call a user's module (stored with a saved model as plain values)."""

    layout: str = "cells"
    fill_value: float = 0.0
    n_outputs: int = 1
    squeeze: bool = False          # the module returns (batch,) rather than (batch, k)
    factory: str | None = None     # "package.module:function" that rebuilds the module (a
    #                                name only: loading calls it only if the caller approves)
    factory_kwargs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Wrapped(nn.Module):
    """Stacked valid cells ``(b, C·d)`` → the user's module → output ``k`` → ``(b, 1)``."""

    flat: torch.Tensor
    x_mean: torch.Tensor
    x_inv_std: torch.Tensor

    def __init__(self, module: nn.Module, spec: ModuleSpec, flat: np.ndarray,
                 shape: tuple[int, int], n_vars: int, x_mean: np.ndarray, x_std: np.ndarray,
                 y_mean: float, y_std: float, output: int) -> None:
        super().__init__()
        self.module = module
        self.layout, self.n_vars = spec.layout, int(n_vars)
        self.shape = (int(shape[0]), int(shape[1]))
        self.output, self.squeeze = int(output), spec.squeeze
        self.register_buffer("flat", torch.as_tensor(np.asarray(flat), dtype=torch.long))
        self.register_buffer("x_mean", torch.as_tensor(np.asarray(x_mean), dtype=torch.float32))
        self.register_buffer("x_inv_std", 1.0 / torch.as_tensor(np.asarray(x_std),
                                                                 dtype=torch.float32))
        self.y_mean, self.y_std = float(y_mean), float(y_std)
        self.fill = float(spec.fill_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.x_mean) * self.x_inv_std
        if self.layout != "cells":
            b, size = z.shape[0], self.shape[0] * self.shape[1]
            d = self.flat.numel()
            grid = z.new_full((b, self.n_vars, size), self.fill)
            grid = grid.index_copy(2, self.flat, z.view(b, self.n_vars, d))
            z = grid.view(b, self.n_vars, *self.shape)
            if self.layout == "grid":
                z = z[:, 0]
        out = self.module(z)
        if out.ndim == 1:
            out = out[:, None]
        return out[:, self.output:self.output + 1] * self.y_std + self.y_mean


def probe_input(net: Wrapped, n: int) -> torch.Tensor:
    """A zero batch in the layout the wrapped module reads (to check its shapes)."""
    d = net.flat.numel()
    with torch.no_grad():
        z = torch.zeros(n, net.n_vars * d)
        if net.layout == "cells":
            return z
        grid = z.new_full((n, net.n_vars, net.shape[0] * net.shape[1]), net.fill)
        grid = grid.view(n, net.n_vars, *net.shape)
        return grid[:, 0] if net.layout == "grid" else grid


def _input_variables(like: xr.Dataset | xr.DataArray, variables: list[str] | None
                     ) -> dict[str, xr.DataArray]:
    if isinstance(like, xr.DataArray):
        return {str(like.name or "x"): like}
    if variables is None and is_benchmark(like):  # a benchmark's input is its x
        return {"x": like["x"]}
    names = list(variables) if variables is not None else [
        str(v) for v in like.data_vars if like[v].ndim >= 2]
    missing = [n for n in names if n not in like]
    if missing or not names:
        raise ValueError(f"variables {missing or names} not found among "
                         f"{sorted(map(str, like.data_vars))}")
    return {n: like[n] for n in names}


def _per_cell(value: Any, name: str, cells: CellIndex, what: str) -> np.ndarray:
    """A normalisation value for one variable as a ``(d,)`` array over valid cells."""
    if isinstance(value, dict):
        if name not in value:
            raise ValueError(f"{what} has no entry for variable {name!r}")
        value = value[name]
    if isinstance(value, xr.DataArray):
        return np.asarray(cells.stack(value).values, float)
    arr = np.asarray(value, float)
    if arr.ndim == 0:
        return np.full(cells.n_cells, float(arr))
    if arr.shape == (cells.n_cells,):
        return arr
    raise ValueError(f"{what} must be a number, a (lat, lon) DataArray or one value per "
                     f"valid cell ({cells.n_cells}); got shape {arr.shape}")



def wrap_module(model_cls: Any, module: Any, like: xr.Dataset | xr.DataArray,
                layout: str = "cells", fill_value: float = 0.0, x_mean: Any = 0.0,
                x_std: Any = 1.0, y_mean: Any = 0.0, y_std: Any = 1.0,
                outputs: list[str] | None = None, variables: list[str] | None = None,
                factory: Any = None, factory_kwargs: dict[str, Any] | None = None,
                sample_dim: str | None = None, units: str | dict[str, str] | None = None
                ) -> Any:
    """The body of :meth:`xattrib.Model.from_module` (see there)."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    require_xarray(like, "like")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    data = _input_variables(like, variables)
    names = list(data)
    if layout == "grid" and len(names) > 1:
        raise ValueError(f"layout='grid' reads one variable; {names} need "
                         "layout='grid_channels' (n, variable, lat, lon) or 'cells'")
    cells = None
    for name, da in data.items():
        c = CellIndex.from_data(da, sample_dim=sample_dim) if da.ndim > 2 else \
            CellIndex.from_data(da.expand_dims(_sample=1), sample_dim="_sample")
        if cells is None:
            cells = c
        elif not np.array_equal(c.flat, cells.flat) or c.shape != cells.shape:
            raise ValueError(f"variable {name!r} has other valid cells than {names[0]!r}; "
                             "the variables of one model must share one land mask "
                             "(mask them alike, e.g. ds.where(mask))")
    assert cells is not None
    mean = np.concatenate([_per_cell(x_mean, n, cells, "x_mean") for n in names])
    std = np.concatenate([_per_cell(x_std, n, cells, "x_std") for n in names])
    if np.any(~np.isfinite(std)) or np.any(std <= 0):
        raise ValueError("x_std must be positive and finite on every valid cell")
    spec = ModuleSpec(layout=layout, fill_value=float(fill_value),
                      **_factory_record(factory, factory_kwargs, module))
    model = model_cls(module.eval(), "module", {}, cells, mean.astype(np.float32),
                std.astype(np.float32), 0.0, 1.0, variables=names, spec=spec)
    k = _probe_outputs(model)
    out_names = list(outputs) if outputs is not None else (
        ["y"] if k == 1 else [f"output{i}" for i in range(k)])
    if len(out_names) != k or len(set(out_names)) != k:
        raise ValueError(f"outputs names {out_names} do not match the module's {k} "
                         "outputs (give one distinct name per output)")
    model.outputs = out_names
    ym, ys = np.broadcast_to(np.asarray(y_mean, float), (k,)), np.broadcast_to(
        np.asarray(y_std, float), (k,))
    model.y_mean, model.y_std = ym.copy(), ys.copy()  # per output (a float for one)
    model.units = _output_units(units, out_names)
    return model


def _output_units(units: Any, outputs: list[str]) -> dict[str, str]:
    """``units=`` of :meth:`Model.from_module` as ``{output: units}``, checked."""
    if units is None:
        return {}
    if isinstance(units, str):
        return {o: units for o in outputs}
    if not isinstance(units, dict) or not all(isinstance(v, str) for v in units.values()):
        raise TypeError(f"units must be a string (every output) or a dict {{output: units}} "
                        f"of strings, e.g. units='K'; got {units!r}")
    unknown = sorted(set(map(str, units)) - set(outputs))
    if unknown:
        raise ValueError(f"units names outputs {unknown} the module does not have; its "
                         f"outputs are {outputs}")
    return {str(k): v for k, v in units.items()}


def _factory_record(factory: Any, factory_kwargs: dict[str, Any] | None,
                    module: Any = None) -> dict[str, Any]:
    """The factory's name and keyword arguments as a file will store them (plain data).

    A callable factory is called once with them: if it does not rebuild ``module``'s
    parameters, shape for shape, a saved file could never be loaded, so that is refused
    now rather than discovered when someone loads it."""
    kwargs = plain_kwargs(dict(factory_kwargs or {}), "factory_kwargs")
    if factory is None:
        if kwargs:
            raise ValueError("factory_kwargs were given without factory=; pass the function "
                             "that builds the module as factory=")
        return {"factory": None, "factory_kwargs": {}}
    if callable(factory):
        bind_kwargs(factory, kwargs, "factory_kwargs")
        name = factory_name(factory)
        if module is not None:
            _check_rebuilds(factory, kwargs, module, name)
        return {"factory": name, "factory_kwargs": kwargs}
    if not isinstance(factory, str) or ":" not in factory:
        raise ValueError(f"factory must be your function that builds the module (or its name "
                         f"'package.module:function'), got {factory!r}")
    return {"factory": factory, "factory_kwargs": kwargs}


def _check_rebuilds(factory: Any, kwargs: dict[str, Any], module: Any, name: str) -> None:
    what = f"factory {name}(**{kwargs})"
    try:
        built = factory(**kwargs)
    except Exception as err:  # the user's function: say what it raised, in their terms
        raise ValueError(f"{what} raised {type(err).__name__}: {err}; pass the "
                         "factory_kwargs that rebuild this module (a saved model is rebuilt "
                         "with them)") from None
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    try:
        check_state_shapes(built, shapes, what, against="the module")
    except ValueError as err:
        raise ValueError(f"{err}. A model saved with these factory_kwargs could not be "
                         "loaded: pass the factory_kwargs that rebuild this module") from None


def _expected_input(model: Any, n: int = 2) -> tuple[int, ...]:
    c, d = len(model.variables), model.cells.n_cells
    layout = model.spec.layout if model.spec is not None else "cells"
    return {"cells": (n, c * d), "grid": (n, *model.cells.shape),
            "grid_channels": (n, c, *model.cells.shape)}[layout]

def _probe_outputs(model: Any) -> int:
    """Run the module once on zeros: its number of outputs, or a clear error."""
    shape = _expected_input(model, 2)
    probe = Wrapped(model.module, model.spec, model.cells.image_flat, model.cells.shape,
                    len(model.variables), model.x_mean, model.x_std, 0.0, 1.0, 0)
    try:
        with torch.no_grad():
            out = probe.module(probe_input(probe, 2))
    except Exception as err:  # the user's module refused the input: say what it got
        raise ValueError(f"the module failed on input of shape {shape} (layout "
                         f"{model.spec.layout!r}: {len(model.variables)} variable(s), "
                         f"{model.cells.n_cells} valid cells of a {model.cells.shape} grid): "
                         f"{type(err).__name__}: {err}") from None
    if out.ndim == 1 and out.shape[0] == 2:
        model.spec.squeeze = True
        return 1
    if out.ndim != 2 or out.shape[0] != 2:
        raise ValueError(f"the module returned shape {tuple(out.shape)} for input "
                         f"{shape}; expected (n,), (n, 1) or (n, k) with n = 2")
    model.spec.n_outputs = int(out.shape[1])
    return int(out.shape[1])
