"""``input_x_gradient``: x · ∂f/∂x (an implicit zero baseline)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method


def _input_x_gradient(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any,
                      forward_args: Any = None) -> torch.Tensor:
    from captum.attr import InputXGradient

    return InputXGradient(net).attribute(x, additional_forward_args=forward_args)


register_method(Method(
    "input_x_gradient", _input_x_gradient, baseline=None,
    forward_is_prediction=True,
    description="x · ∂f/∂x (implicit zero baseline)"), overwrite=True)
