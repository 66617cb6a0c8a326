"""``ds.xattrib`` / ``da.xattrib``: thin accessors over the public functions.

Each method resolves its object and forwards ``*args, **kwargs`` unchanged to the public
function of the same name (xskillscore's pattern): no logic lives here, and no signature is
re-declared, so no keyword can be silently dropped. help() and Shift-Tab show the public
function's signature and docstring; ``attribute`` and ``trim`` get theirs when first looked
up, so ``import xattrib`` does not import torch.
"""

from __future__ import annotations

import inspect
from typing import Any

import xarray as xr

from . import io
from .generation import benchmark
from .grid import area_weights
from .scoring import score
from .training import fit


def _shows(func: Any) -> Any:
    """Give a forwarding method the public function's signature and docstring, so help()
    and Shift-Tab show them (bound, the object stands for the first parameter). Nothing is
    re-declared: the call still forwards ``*args, **kwargs`` unchanged."""
    def copy(method: Any) -> Any:
        method.__signature__ = inspect.signature(func)
        method.__doc__ = (f"``{func.__name__}`` with this object as its first argument "
                          f"(:func:`{func.__module__}.{func.__name__}`).\n\n"
                          + inspect.cleandoc(func.__doc__ or "").split("\nExamples\n")[0])
        return method
    return copy


class _Deferred:
    """A forwarding method to a function whose module imports torch and captum: the import
    happens when the method is first looked up (called, or shown by help() / Shift-Tab),
    not with ``import xattrib``; it then carries the function's signature and docstring."""

    def __init__(self, module: str, name: str, position: int = 0) -> None:
        # position: where the object goes among the arguments (advise(model, data): 1)
        self.module, self.name, self.position = module, name, position
        self._method: Any = None

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if self._method is None:
            import importlib

            func = getattr(importlib.import_module(f".{self.module}", __package__), self.name)

            at = self.position

            def method(obj: Any, *args: Any, **kwargs: Any) -> Any:
                return func(*args[:at], obj._obj, *args[at:], **kwargs)

            method.__name__ = method.__qualname__ = self.name
            self._method = _shows(func)(method)
        return self._method if obj is None else self._method.__get__(obj, owner)


class _Accessor:
    def __init__(self, obj: xr.Dataset | xr.DataArray) -> None:
        self._obj = obj

    @_shows(io.to_netcdf)
    def to_netcdf(self, path: Any, **kwargs: Any) -> Any:
        return io.to_netcdf(self._obj, path, **kwargs)

    @_shows(io.to_zarr)
    def to_zarr(self, path: Any, **kwargs: Any) -> Any:
        return io.to_zarr(self._obj, path, **kwargs)

    @_shows(benchmark)
    def benchmark(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        return benchmark(self._obj, *args, **kwargs)

    @_shows(fit)
    def fit(self, *args: Any, **kwargs: Any) -> Any:
        return fit(self._obj, *args, **kwargs)  # type: ignore[arg-type]

    attribute = _Deferred("attribution", "attribute")
    trim = _Deferred("attribution", "trim")
    evaluate = _Deferred("evaluation", "evaluate")
    audit = _Deferred("evaluation", "audit")
    #: ``data.xattrib.advise(model, ...)``: the data is advise's second argument
    advise = _Deferred("advice", "advise", position=1)

    @_shows(score)
    def score(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        return score(self._obj, *args, **kwargs)

    @_shows(area_weights)
    def area_weights(self, **kwargs: Any) -> xr.DataArray:
        return area_weights(self._obj, **kwargs)


@xr.register_dataset_accessor("xattrib")
class DatasetAccessor(_Accessor):
    """``ds.xattrib``: xattrib's functions with the Dataset as first argument."""


@xr.register_dataarray_accessor("xattrib")
class DataArrayAccessor(_Accessor):
    """``da.xattrib``: xattrib's functions with the DataArray as first argument."""
