"""The attribution-method registry: a name → a captum method with documented defaults.

Each :class:`Method` knows what it needs (one baseline, a background distribution or none),
whether its maps are positive-only, whether they are complete (sum to f(x) − f(baseline)),
its units, and how to run on one batch of stacked inputs. Batching, devices, dask and
xarray are handled once in :mod:`xattrib.attribution.heatmaps`, not per method.

A plug-in family: one module per method registers it in :data:`METHODS` with
:func:`register_method` (users add their own the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..dims import METHOD_DIM
from ..registry import Registry

__all__ = ["COUNTS", "METHODS", "METHOD_DIM", "Method", "get_method", "register_method",
           "share_by_group"]


@dataclass(frozen=True)
class Method:
    """An attribution method.

    Attributes
    ----------
    name : str
        snake_case name used in ``methods=[...]``.
    run : callable
        ``run(net, x, baseline, background, **params) -> attributions`` on a batch:
        ``x`` (b, d); ``baseline`` (b, d) or None; ``background`` (m, d) or None.
    defaults : dict
        Default parameters (documented; any can be overridden per call).
    baseline : {"single", "distribution", None}
        What the method compares against: one reference input, a background sample, or
        nothing (gradients; Input×Gradient has an implicit zero baseline).
    complete : bool
        Attributions sum to f(x) − f(baseline) (or − E f(background)).
    positive_only : bool
        The method is designed to return relevance of one sign, so scores compare it with
        one signed part of the truth (g⁺, sign-flipped for negative predictions, or ``|g|``, as
        in Mamalakis et al. 2022). Note: captum's α1β0 clamps weights, not inputs, so on
        signed inputs (anomalies) its input-layer relevance can still take both signs.
    gradient_units : bool
        Units are output/input (gradients) rather than output units.
    expansion : callable
        Forward rows per input sample for given params (to bound memory per call).
    forward_only : bool
        No backward pass (perturbation methods): no activations kept for gradients, so
        calls can be larger.
    forward_is_prediction : bool
        The method evaluates the unmodified network on ``x`` itself (gradients): that
        output is the prediction, so ``attribute`` reads it instead of running another
        forward pass.
    random : bool
        The method draws random numbers from torch's or numpy's global generators (captum
        gives no generator argument): ``attribute`` seeds them per batch from the seed and
        the batch's first sample index, under a lock, and restores them afterwards, so the
        maps do not depend on how dask threads interleave.
    transformable : bool
        The method can explain a network behind a transform (TRIM): it takes
        ``forward_args`` (TRIM's fixed residual) on to the network. LRP cannot: its rules
        live on layers, and the inverse transform has none.
    in_main_job : bool
        The main job (``xattrib benchmark``) runs it by default.
    aliases : dict
        Older names of parameters → their names now (``n_samples`` was the draw count of
        three methods; it is also the size of a benchmark, so the methods say what they
        draw).
    description : str
    """

    name: str
    run: Callable[..., torch.Tensor]
    defaults: dict[str, Any] = field(default_factory=dict)
    baseline: str | None = "single"
    complete: bool = False
    positive_only: bool = False
    gradient_units: bool = False
    expansion: Callable[[dict[str, Any]], int] = lambda p: 1
    forward_only: bool = False
    forward_is_prediction: bool = False
    random: bool = False
    transformable: bool = True
    in_main_job: bool = True
    description: str = ""
    aliases: dict[str, str] = field(default_factory=dict)

    def accepts(self, key: str) -> bool:
        """Whether ``key`` names one of the method's parameters (or an older name of one)."""
        return key in self.defaults or key in self.aliases

    def params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        overrides = {self.aliases.get(k, k): v for k, v in overrides.items()}
        # "_"-keys are xattrib's own (attribute's groups), never a user's parameter
        unknown = {k for k in overrides if not k.startswith("_")} - set(self.defaults)
        if unknown:
            raise TypeError(f"method {self.name!r} has no parameter(s) {sorted(unknown)}; "
                            f"its parameters are {sorted(self.defaults) or 'none'}")
        for key, value in overrides.items():
            if key in COUNTS and not (isinstance(value, int | np.integer)
                                      and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{self.name} parameter {key} must be a whole number of at "
                                 f"least 1, got {value!r}")
        return {**self.defaults, **overrides}


def _baseline_kind(m: Method) -> str:
    return {"single": "one input", "distribution": "background", None: "none"}[m.baseline]


#: name → :class:`Method`; each member module registers its own
METHODS: Registry[Method] = Registry(
    "attribution method", plural="methods",
    columns={"baseline": _baseline_kind, "complete": lambda m: "yes" if m.complete else "no",
             "defaults": lambda m: ", ".join(f"{k}={v}" for k, v in m.defaults.items()) or "–"})
#: method parameters that count something (steps, samples, cells): whole numbers ≥ 1
COUNTS = ("n_steps", "n_noise", "n_draws", "n_permutations", "n_samples", "n_background",
          "perturbations_per_eval", "patch")


def register_method(method: Method, overwrite: bool = False) -> Method:
    """Add a method to the registry (so ``attribute(..., methods=[name])`` finds it)."""
    return METHODS.register(method.name, method, overwrite=overwrite)


def get_method(name: str) -> Method:
    """The registered method ``name``; unknown names get the valid ones and the closest."""
    return METHODS.get(name)


def share_by_group(a: torch.Tensor, feature_mask: torch.Tensor | None) -> torch.Tensor:
    """captum gives every cell of a group the group's whole value; give each an equal share,
    so the map sums to the total effect and compares with a per-cell truth."""
    if feature_mask is None:
        return a
    counts = torch.bincount(feature_mask.reshape(-1)).to(a.dtype)
    return a / counts[feature_mask.reshape(-1)]

