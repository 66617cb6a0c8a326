"""The attribution-method registry: a name → a captum method with documented defaults.

Each :class:`Method` knows what it needs (one baseline, a background distribution or none),
whether its maps are positive-only, whether they are complete (sum to f(x) − f(baseline)),
its units, and how to run on one batch of stacked inputs. Batching, devices, dask and
xarray are handled once in :mod:`xattrib.attribute`, not per method.

Users add their own with :func:`register_method`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .dims import METHOD_DIM

__all__ = ["METHODS", "METHOD_DIM", "Method", "get_method", "register_method"]


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
    description: str = ""

    def params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        unknown = set(overrides) - set(self.defaults)
        if unknown:
            raise TypeError(f"method {self.name!r} has no parameter(s) {sorted(unknown)}; "
                            f"its parameters are {sorted(self.defaults) or 'none'}")
        for key, value in overrides.items():
            if key in COUNTS and not (isinstance(value, int | np.integer)
                                      and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{self.name} parameter {key} must be a whole number of at "
                                 f"least 1, got {value!r}")
        return {**self.defaults, **overrides}


METHODS: dict[str, Method] = {}
#: method parameters that count something (steps, samples, cells): whole numbers ≥ 1
COUNTS = ("n_steps", "n_samples", "n_background", "perturbations_per_eval", "patch")


def register_method(method: Method, overwrite: bool = False) -> Method:
    """Add a method to the registry (so ``attribute(..., methods=[name])`` finds it)."""
    if method.name in METHODS and not overwrite:
        raise ValueError(f"a method named {method.name!r} is registered; pass overwrite=True")
    METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """The registered method ``name``; unknown names get the valid ones and the closest."""
    if name not in METHODS:
        from ._names import closest_hint

        hint = closest_hint(name, METHODS)
        raise ValueError(f"unknown attribution method {name!r}.{hint} "
                         f"Valid methods: {', '.join(sorted(METHODS))}")
    return METHODS[name]


# -- the built-in methods --------------------------------------------------------------------

def _gradient(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any,
              forward_args: Any = None) -> torch.Tensor:
    from captum.attr import Saliency

    return Saliency(net).attribute(x, abs=False, additional_forward_args=forward_args)


def _smoothgrad(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any,
                n_samples: int, sigma: float, forward_args: Any = None) -> torch.Tensor:
    from captum.attr import NoiseTunnel, Saliency

    # sigma is relative to the batch's input range, as in Smilkov et al. (2017)
    std = float(sigma) * float((x.max() - x.min()).item() or 1.0)
    return NoiseTunnel(Saliency(net)).attribute(
        x, nt_type="smoothgrad", nt_samples=int(n_samples), stdevs=std, abs=False,
        additional_forward_args=forward_args)


def _input_x_gradient(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any,
                      forward_args: Any = None) -> torch.Tensor:
    from captum.attr import InputXGradient

    return InputXGradient(net).attribute(x, additional_forward_args=forward_args)


def _integrated_gradients(net: nn.Module, x: torch.Tensor, baseline: torch.Tensor,
                          background: Any, n_steps: int, method: str,
                          forward_args: Any = None) -> torch.Tensor:
    from captum.attr import IntegratedGradients

    return IntegratedGradients(net).attribute(x, baselines=baseline, n_steps=int(n_steps),
                                              method=method,
                                              additional_forward_args=forward_args)


def _deeplift(net: nn.Module, x: torch.Tensor, baseline: torch.Tensor, background: Any,
              forward_args: Any = None) -> torch.Tensor:
    from captum.attr import DeepLift

    return DeepLift(net).attribute(x, baselines=baseline, additional_forward_args=forward_args)


def _deepshap(net: nn.Module, x: torch.Tensor, baseline: Any, background: torch.Tensor,
              forward_args: Any = None) -> torch.Tensor:
    from captum.attr import DeepLift, DeepLiftShap

    if background.shape[0] == 1:  # one reference: DeepLiftShap needs two, and equals DeepLift
        return DeepLift(net).attribute(x, baselines=background.expand_as(x),
                                       additional_forward_args=forward_args)
    return DeepLiftShap(net).attribute(x, baselines=background,
                                       additional_forward_args=forward_args)


def _gradientshap(net: nn.Module, x: torch.Tensor, baseline: Any, background: torch.Tensor,
                  n_samples: int, stdevs: float, forward_args: Any = None) -> torch.Tensor:
    from captum.attr import GradientShap

    return GradientShap(net).attribute(x, baselines=background, n_samples=int(n_samples),
                                       stdevs=float(stdevs),
                                       additional_forward_args=forward_args)


def _lrp(rules: Callable[..., dict[int, Any]]) -> Callable[..., torch.Tensor]:
    """An LRP method with per-layer rules, set on the layers for one call and then removed."""

    def run(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any, **params: Any
            ) -> torch.Tensor:
        from captum.attr import LRP

        layers: list[nn.Module] = [m for m in net.modules()
                                   if isinstance(m, nn.Linear | nn.Conv2d)]
        chosen = rules(layers, **params)
        try:
            for i, layer in enumerate(layers):
                layer.rule = chosen[i]
            return LRP(net).attribute(x)
        finally:  # captum reads .rule from the layers: never leave them behind
            for layer in layers:
                if hasattr(layer, "rule"):
                    del layer.rule
    return run


def _rules_all(rule_factory: Callable[..., Any]) -> Callable[..., dict[int, Any]]:
    def rules(layers: list[nn.Module], **params: Any) -> dict[int, Any]:
        return {i: rule_factory(**params) for i in range(len(layers))}
    return rules


def _rules_composite(layers: list[nn.Module], epsilon: float, lower: str) -> dict[int, Any]:
    """α1β0 (or z⁺) on the lower third, ε in the middle, LRP-0 on the top layer."""
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule

    n = len(layers)
    n_lower = max(1, n // 3)
    out = {}
    for i in range(n):
        if i < n_lower:
            if lower not in ("alpha1beta0", "zplus"):
                raise ValueError(f"lower must be 'alpha1beta0' or 'zplus', got {lower!r}")
            out[i] = Alpha1_Beta0_Rule()  # z⁺ and α1β0 coincide for these layers
        elif i == n - 1:
            out[i] = EpsilonRule(epsilon=1e-9)
        else:
            out[i] = EpsilonRule(epsilon=float(epsilon))
    return out


def _ablation(net: nn.Module, x: torch.Tensor, baseline: torch.Tensor, background: Any,
              patch: Any, perturbations_per_eval: int, feature_mask: torch.Tensor | None = None,
              forward_args: Any = None) -> torch.Tensor:
    from captum.attr import FeatureAblation

    a = FeatureAblation(net).attribute(
        x, baselines=baseline, feature_mask=feature_mask,
        perturbations_per_eval=int(perturbations_per_eval), additional_forward_args=forward_args)
    # captum 0.9 returns (b, 1, d) here; the values are per input feature
    return _share(a.reshape(x.shape), feature_mask)


def _share(a: torch.Tensor, feature_mask: torch.Tensor | None) -> torch.Tensor:
    """captum gives every cell of a group the group's whole value; give each an equal share,
    so the map sums to the total effect and compares with a per-cell truth."""
    if feature_mask is None:
        return a
    counts = torch.bincount(feature_mask.reshape(-1)).to(a.dtype)
    return a / counts[feature_mask.reshape(-1)]


def _shapley(net: nn.Module, x: torch.Tensor, baseline: torch.Tensor, background: Any,
             patch: Any, n_samples: int, perturbations_per_eval: int,
             feature_mask: torch.Tensor | None = None, forward_args: Any = None) -> torch.Tensor:
    from captum.attr import ShapleyValueSampling

    a = ShapleyValueSampling(net).attribute(
        x, baselines=baseline, feature_mask=feature_mask, n_samples=int(n_samples),
        perturbations_per_eval=int(perturbations_per_eval), additional_forward_args=forward_args)
    # captum 0.9 returns (b, 1, d) here; the values are per input feature
    return _share(a.reshape(x.shape), feature_mask)


def _cd(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any, patch: Any,
        feature_mask: torch.Tensor | None = None, forward_args: Any = None) -> torch.Tensor:
    from .cd import cd_scores

    groups = (torch.arange(x.shape[1], device=x.device) if feature_mask is None
              else feature_mask.reshape(-1))
    n_groups = int(groups.max()) + 1
    split = getattr(net, "cd_split", None)  # TRIM's network decomposes on the grid
    if split is not None:
        split = split(*(forward_args or ()))
    scores = cd_scores(getattr(net, "cd_network", net), x.detach(), groups, n_groups, split)
    # every feature of a group gets an equal share of the group's score (as occlusion)
    return _share(scores.index_select(1, groups), feature_mask)


def _register_builtins() -> None:
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule

    for m in (
        Method("gradient", _gradient, baseline=None, gradient_units=True,
               forward_is_prediction=True,
               description="signed gradient ∂f/∂x (saliency without the absolute value)"),
        Method("smoothgrad", _smoothgrad, {"n_samples": 32, "sigma": 0.15}, baseline=None,
               gradient_units=True, expansion=lambda p: int(p["n_samples"]), random=True,
               description="gradient averaged over Gaussian noise; sigma × the input range"),
        Method("input_x_gradient", _input_x_gradient, baseline=None,
               forward_is_prediction=True,
               description="x · ∂f/∂x (implicit zero baseline)"),
        Method("integrated_gradients", _integrated_gradients,
               {"n_steps": 64, "method": "gausslegendre"}, complete=True,
               expansion=lambda p: int(p["n_steps"]),
               description="path integral of gradients from the baseline to x"),
        Method("deeplift", _deeplift, complete=True, expansion=lambda p: 2,
               description="DeepLIFT (rescale rule) relative to the baseline"),
        Method("deepshap", _deepshap, {"n_background": 100}, baseline="distribution",
               complete=True, expansion=lambda p: 2 * int(p["n_background"]),
               description="DeepLIFT averaged over a background sample (DeepLiftShap)"),
        Method("gradientshap", _gradientshap, {"n_background": 100, "n_samples": 32,
                                               "stdevs": 0.0},
               baseline="distribution", expansion=lambda p: int(p["n_samples"]),
               random=True, description="expected gradients over random background points and "
                           "interpolation points (complete only in expectation)"),
        Method("lrp_z", _lrp(_rules_all(lambda: EpsilonRule(epsilon=1e-9))), baseline=None,
               transformable=False,
               description="LRP-0 (z rule) on every layer; equals input×gradient for ReLU nets"),
        Method("lrp_epsilon", _lrp(_rules_all(lambda epsilon: EpsilonRule(epsilon=epsilon))),
               {"epsilon": 0.01}, baseline=None, transformable=False,
               description="LRP-ε on every layer"),
        Method("lrp_alpha1beta0", _lrp(_rules_all(lambda: Alpha1_Beta0_Rule())),
               baseline=None, positive_only=True, transformable=False,
               description="LRP-α1β0 on every layer (designed for positive relevance; on "
                           "signed inputs captum's version can return both signs)"),
        Method("lrp_composite", _lrp(_rules_composite), {"epsilon": 0.25,
                                                         "lower": "alpha1beta0"},
               baseline=None, transformable=False,
               description="α1β0 lower layers, ε middle, LRP-0 top"),
        Method("occlusion", _ablation, {"patch": 1, "perturbations_per_eval": 64},
               expansion=lambda p: int(p["perturbations_per_eval"]), forward_only=True,
               description="f(x) − f(x with a cell (or patch×patch cells) set to the "
                           "baseline); patch > 1 shares a patch's effect equally"),
        Method("shapley_sampling", _shapley, {"patch": 2, "n_samples": 10,
                                              "perturbations_per_eval": 64},
               complete=True, expansion=lambda p: int(p["perturbations_per_eval"]),
               forward_only=True, random=True,
               description="Shapley value sampling over groups of patch×patch cells "
                           "(feature_mask); a group's value is shared equally by its cells"),
        Method("cd", _cd, {"patch": 1}, baseline=None, forward_only=True,
               description="contextual decomposition: the score of each group of inputs "
                           "(patch×patch cells, or TRIM's groups) propagated through the "
                           "network with the bias shared out (Murdoch et al. 2018); shared "
                           "equally by the group's cells"),
    ):
        register_method(m, overwrite=True)


_register_builtins()
