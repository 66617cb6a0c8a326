"""xattrib: test whether neural-network attribution methods tell the truth, on lat/lon grids.

``import xattrib`` registers the ``.xattrib`` accessors on xarray objects. torch and captum
are imported only by the functions that use them, so importing xattrib stays light.
"""

from __future__ import annotations

import importlib.metadata as _md

from . import accessor as _accessor  # noqa: F401  (registers .xattrib)
from . import covariance, datasets, grid, io, metrics, responses, summary
from .metrics import score
from .stacking import CellIndex
from .synthetic import benchmark, generator_from_dataset

try:
    __version__ = _md.version("xattrib")
except _md.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "CellIndex", "Model", "__version__", "attribute", "benchmark", "covariance", "datasets",
    "fit", "generator_from_dataset", "grid", "io", "methods", "metrics", "responses", "score",
    "summary", "transforms", "trim",
]


def __getattr__(name: str):  # torch-backed names load on first use, keeping import light
    if name == "Model":
        from .model import Model

        return Model
    if name == "fit":
        from .training import fit

        return fit
    if name == "attribute":
        from .attribution import attribute

        return attribute
    if name == "trim":
        from .trimming import trim

        return trim
    if name == "transforms":
        import importlib

        return importlib.import_module(".transforms", __name__)
    if name == "methods":
        import importlib

        return importlib.import_module(".methods", __name__)
    raise AttributeError(f"module 'xattrib' has no attribute {name!r}")
