"""``deepshap``: DeepLIFT averaged over a background sample (captum's DeepLiftShap)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method


def _deepshap(net: nn.Module, x: torch.Tensor, baseline: Any, background: torch.Tensor,
              forward_args: Any = None) -> torch.Tensor:
    from captum.attr import DeepLift, DeepLiftShap

    if background.shape[0] == 1:  # one reference: DeepLiftShap needs two, and equals DeepLift
        return DeepLift(net).attribute(x, baselines=background.expand_as(x),
                                       additional_forward_args=forward_args)
    return DeepLiftShap(net).attribute(x, baselines=background,
                                       additional_forward_args=forward_args)


register_method(Method(
    "deepshap", _deepshap, {"n_background": 100}, baseline="distribution",
    complete=True, expansion=lambda p: 2 * int(p["n_background"]),
    description="DeepLIFT averaged over a background sample (DeepLiftShap)"), overwrite=True)
