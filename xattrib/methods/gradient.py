"""``gradient``: the signed gradient ∂f/∂x (captum's Saliency without the absolute value)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method


def _gradient(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any,
              forward_args: Any = None) -> torch.Tensor:
    from captum.attr import Saliency

    return Saliency(net).attribute(x, abs=False, additional_forward_args=forward_args)


register_method(Method(
    "gradient", _gradient, baseline=None, gradient_units=True,
    forward_is_prediction=True,
    description="signed gradient ∂f/∂x (saliency without the absolute value)"), overwrite=True)
