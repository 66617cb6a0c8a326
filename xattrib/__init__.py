"""xattrib: test whether neural-network attribution methods tell the truth, on lat/lon grids.

``import xattrib`` registers the ``.xattrib`` accessors on xarray objects. torch and captum
are imported only by the names that need them (looked up on first use), so importing
xattrib stays light. ``docs/architecture.md`` draws the package.
"""

from __future__ import annotations

import importlib as _importlib
from typing import Any

from . import accessor as _accessor  # noqa: F401  (registers .xattrib)
from . import covariances, datasets, grid, io, metrics, responses, scoring
from .generation import benchmark, generator_from_dataset
from .grid import CellIndex
from .io import package_version as _package_version
from .scoring import agreement, decompose_error, score, summary

__version__ = _package_version()

#: the package's older names of two families, kept as attributes for users' code
covariance = covariances

#: torch-backed names, imported on first use: name → (module, attribute or None)
_LAZY: dict[str, tuple[str, str | None]] = {
    "Model": (".training", "Model"),
    "Ensemble": (".training", "Ensemble"),
    "fit": (".training", "fit"),
    "attribute": (".attribution", "attribute"),
    "trim": (".attribution", "trim"),
    "evaluate": (".evaluation", "evaluate"),
    "audit": (".evaluation", "audit"),
    "evaluation": (".evaluation", None),
    "probes": (".probes", None),
    "transforms": (".transforms", None),
    "methods": (".methods", None),
    "architectures": (".architectures", None),
    "attribution": (".attribution", None),
    "training": (".training", None),
    "plots": (".plots", None),
    "job": (".job", None),
    "parallel": (".parallel", None),
}

__all__ = [
    "CellIndex", "Ensemble", "Model", "__version__", "agreement", "architectures", "attribute",
    "attribution", "audit", "benchmark", "decompose_error", "covariance", "covariances", "datasets", "evaluate", "evaluation", "fit",
    "generator_from_dataset", "grid", "io", "job", "methods", "metrics", "parallel", "plots",
    "probes", "responses", "score", "scoring", "summary", "training", "transforms", "trim",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = _importlib.import_module(module, __name__)
        return mod if attr is None else getattr(mod, attr)
    raise AttributeError(f"module 'xattrib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
