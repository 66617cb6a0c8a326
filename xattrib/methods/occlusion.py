"""``occlusion``: f(x) − f(x with a cell, or a group of cells, set to the baseline)
(captum's FeatureAblation)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method, share_by_group


def _ablation(net: nn.Module, x: torch.Tensor, baseline: torch.Tensor, background: Any,
              patch: Any, perturbations_per_eval: int, feature_mask: torch.Tensor | None = None,
              forward_args: Any = None) -> torch.Tensor:
    from captum.attr import FeatureAblation

    a = FeatureAblation(net).attribute(
        x, baselines=baseline, feature_mask=feature_mask,
        perturbations_per_eval=int(perturbations_per_eval), additional_forward_args=forward_args)
    # captum 0.9 returns (b, 1, d) here; the values are per input feature
    return share_by_group(a.reshape(x.shape), feature_mask)


register_method(Method(
    "occlusion", _ablation, {"patch": 1, "perturbations_per_eval": 64},
    expansion=lambda p: int(p["perturbations_per_eval"]), forward_only=True,
    description="f(x) − f(x with a cell (or patch×patch cells) set to the "
    "baseline); patch > 1 shares a patch's effect equally"), overwrite=True)
