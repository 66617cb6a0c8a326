"""Layer-wise relevance propagation: ``lrp_z``, ``lrp_epsilon``, ``lrp_alpha1beta0`` and
``lrp_composite``, one method with rules set on the layers for one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule
from torch import nn

from .base import Method, register_method


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


register_method(Method(
    "lrp_z", _lrp(_rules_all(lambda: EpsilonRule(epsilon=1e-9))), baseline=None,
    transformable=False,
    description="LRP-0 (z rule) on every layer; equals input×gradient for ReLU nets"), overwrite=True)


register_method(Method(
    "lrp_epsilon", _lrp(_rules_all(lambda epsilon: EpsilonRule(epsilon=epsilon))),
    {"epsilon": 0.01}, baseline=None, transformable=False,
    description="LRP-ε on every layer"), overwrite=True)


register_method(Method(
    "lrp_alpha1beta0", _lrp(_rules_all(lambda: Alpha1_Beta0_Rule())),
    baseline=None, positive_only=True, transformable=False,
    description="LRP-α1β0 on every layer (designed for positive relevance; on "
    "signed inputs captum's version can return both signs)"), overwrite=True)


register_method(Method(
    "lrp_composite", _lrp(_rules_composite), {"epsilon": 0.25,
    "lower": "alpha1beta0"},
    baseline=None, transformable=False,
    description="α1β0 lower layers, ε middle, LRP-0 top"), overwrite=True)
