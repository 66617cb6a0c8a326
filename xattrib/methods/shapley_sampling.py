"""``shapley_sampling``: Shapley value sampling over groups of cells (Castro et al. 2009)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method, share_by_group


def _shapley(net: nn.Module, x: torch.Tensor, baseline: torch.Tensor, background: Any,
             patch: Any, n_permutations: int, perturbations_per_eval: int,
             feature_mask: torch.Tensor | None = None, forward_args: Any = None) -> torch.Tensor:
    from captum.attr import ShapleyValueSampling

    a = ShapleyValueSampling(net).attribute(
        x, baselines=baseline, feature_mask=feature_mask, n_samples=int(n_permutations),
        perturbations_per_eval=int(perturbations_per_eval), additional_forward_args=forward_args)
    # captum 0.9 returns (b, 1, d) here; the values are per input feature
    return share_by_group(a.reshape(x.shape), feature_mask)


register_method(Method(
    "shapley_sampling", _shapley, {"patch": 2, "n_permutations": 10,
    "perturbations_per_eval": 64},
    complete=True, expansion=lambda p: int(p["perturbations_per_eval"]),
    forward_only=True, random=True, aliases={"n_samples": "n_permutations"},
    description="Shapley value sampling over groups of patch×patch cells "
    "(feature_mask); a group's value is shared equally by its cells"), overwrite=True)
