"""``gradientshap``: expected gradients over random background and interpolation points."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method


def _gradientshap(net: nn.Module, x: torch.Tensor, baseline: Any, background: torch.Tensor,
                  n_draws: int, stdevs: float, forward_args: Any = None) -> torch.Tensor:
    from captum.attr import GradientShap

    return GradientShap(net).attribute(x, baselines=background, n_samples=int(n_draws),
                                       stdevs=float(stdevs),
                                       additional_forward_args=forward_args)


register_method(Method(
    "gradientshap", _gradientshap, {"n_background": 100, "n_draws": 32,
    "stdevs": 0.0},
    baseline="distribution", expansion=lambda p: int(p["n_draws"]),
    random=True, aliases={"n_samples": "n_draws"},
    description="expected gradients over random background points and "
    "interpolation points (complete only in expectation)"), overwrite=True)
