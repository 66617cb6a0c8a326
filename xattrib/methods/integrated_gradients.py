"""``integrated_gradients``: the path integral of gradients from the baseline to x
(Sundararajan et al. 2017)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method


def _integrated_gradients(net: nn.Module, x: torch.Tensor, baseline: torch.Tensor,
                          background: Any, n_steps: int, method: str,
                          forward_args: Any = None) -> torch.Tensor:
    from captum.attr import IntegratedGradients

    return IntegratedGradients(net).attribute(x, baselines=baseline, n_steps=int(n_steps),
                                              method=method,
                                              additional_forward_args=forward_args)


register_method(Method(
    "integrated_gradients", _integrated_gradients,
    {"n_steps": 64, "method": "gausslegendre"}, complete=True,
    expansion=lambda p: int(p["n_steps"]),
    description="path integral of gradients from the baseline to x"), overwrite=True)
