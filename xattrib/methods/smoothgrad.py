"""``smoothgrad``: the gradient averaged over Gaussian noise (Smilkov et al. 2017)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method


def _smoothgrad(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any,
                n_noise: int, sigma: float, forward_args: Any = None) -> torch.Tensor:
    from captum.attr import NoiseTunnel, Saliency

    # sigma is relative to the batch's input range, as in Smilkov et al. (2017)
    std = float(sigma) * float((x.max() - x.min()).item() or 1.0)
    return NoiseTunnel(Saliency(net)).attribute(
        x, nt_type="smoothgrad", nt_samples=int(n_noise), stdevs=std, abs=False,
        additional_forward_args=forward_args)


register_method(Method(
    "smoothgrad", _smoothgrad, {"n_noise": 32, "sigma": 0.15}, baseline=None,
    gradient_units=True, expansion=lambda p: int(p["n_noise"]), random=True,
    aliases={"n_samples": "n_noise"},
    description="gradient averaged over Gaussian noise; sigma × the input range"), overwrite=True)
