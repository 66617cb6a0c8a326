"""``deeplift``: DeepLIFT with the rescale rule, relative to one baseline (Shrikumar et al.
2017)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method


def _deeplift(net: nn.Module, x: torch.Tensor, baseline: torch.Tensor, background: Any,
              forward_args: Any = None) -> torch.Tensor:
    from captum.attr import DeepLift

    return DeepLift(net).attribute(x, baselines=baseline, additional_forward_args=forward_args)


register_method(Method(
    "deeplift", _deeplift, complete=True, expansion=lambda p: 2,
    description="DeepLIFT (rescale rule) relative to the baseline"), overwrite=True)
