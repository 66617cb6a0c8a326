"""xattrib: test whether neural-network attribution methods tell the truth, on lat/lon grids.

``import xattrib`` registers the ``.xattrib`` accessors on xarray objects. torch and captum
are imported only by the names that need them (looked up on first use), so importing
xattrib stays light. ``docs/architecture.md`` draws the package.
"""

from __future__ import annotations

import importlib as _importlib
import importlib.abc as _abc
import importlib.util as _util
import sys as _sys
from typing import Any

from . import accessor as _accessor  # noqa: F401  (registers .xattrib)
from . import covariances, datasets, grid, io, responses, scoring, truth_metrics
from .generation import benchmark, generator_from_dataset
from .grid import CellIndex
from .io import package_version as _package_version
from .scoring import agreement, decompose_error, score, summary

__version__ = _package_version()

#: the package's older names of two families, kept as attributes for users' code
covariance = covariances
metrics = truth_metrics

#: modules renamed so that each name says what it holds (docs/architecture.md, "Names");
#: the old import paths keep working and give the same module objects
RENAMED: dict[str, str] = {
    "xattrib.metrics": "xattrib.truth_metrics",
    "xattrib.probes": "xattrib.gtfree_metrics",
    "xattrib.generation.assembly": "xattrib.generation.benchmark_dataset",
    "xattrib.attribution.trimming": "xattrib.attribution.transformed",
    "xattrib.evaluation.trust": "xattrib.evaluation.auditing",
    "xattrib.job.metric_trust": "xattrib.job.audit_job",
}


class _OldNames(_abc.MetaPathFinder, _abc.Loader):
    """``import xattrib.probes.road`` → the module ``xattrib.gtfree_metrics.road`` (one
    object under both names: its registrations run once). The import system has no
    aliasing of its own; this finder is the documented hook for it."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        for old in RENAMED:
            if fullname == old or fullname.startswith(old + "."):
                return _util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: Any) -> Any:
        old = next(o for o in RENAMED if spec.name == o or spec.name.startswith(o + "."))
        return _importlib.import_module(RENAMED[old] + spec.name[len(old):])

    def exec_module(self, module: Any) -> None:
        """The module is the renamed one, already executed."""


if not any(isinstance(f, _OldNames) for f in _sys.meta_path):
    _sys.meta_path.insert(0, _OldNames())  # before the path finder, which would load a
    # second copy of a renamed package's submodule through the package's __path__

#: torch-backed names, imported on first use: name → (module, attribute or None)
_LAZY: dict[str, tuple[str, str | None]] = {
    "Model": (".training", "Model"),
    "Ensemble": (".training", "Ensemble"),
    "fit": (".training", "fit"),
    "attribute": (".attribution", "attribute"),
    "trim": (".attribution", "trim"),
    "evaluate": (".evaluation", "evaluate"),
    "audit": (".evaluation", "audit"),
    "advise": (".advice", "advise"),
    "advice": (".advice", None),
    "evaluation": (".evaluation", None),
    "gtfree_metrics": (".gtfree_metrics", None),
    "probes": (".gtfree_metrics", None),
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
    "advice", "advise", "CellIndex", "Ensemble", "Model", "__version__", "agreement", "architectures", "attribute",
    "attribution", "audit", "benchmark", "decompose_error", "covariance", "covariances", "datasets", "evaluate", "evaluation", "fit",
    "generator_from_dataset", "grid", "gtfree_metrics", "io", "job", "methods", "metrics",
    "parallel", "plots", "probes", "truth_metrics", "responses", "score", "scoring", "summary", "training", "transforms", "trim",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = _importlib.import_module(module, __name__)
        return mod if attr is None else getattr(mod, attr)
    raise AttributeError(f"module 'xattrib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
