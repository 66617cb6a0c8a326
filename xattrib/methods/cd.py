"""``cd``: contextual decomposition (Murdoch et al. 2018; Singh et al. 2019) of any
feed-forward torch network, through :mod:`.decomposition`."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import Method, register_method, share_by_group
from .decomposition import cd_scores


def _cd(net: nn.Module, x: torch.Tensor, baseline: Any, background: Any, patch: Any,
        feature_mask: torch.Tensor | None = None, forward_args: Any = None) -> torch.Tensor:

    groups = (torch.arange(x.shape[1], device=x.device) if feature_mask is None
              else feature_mask.reshape(-1))
    n_groups = int(groups.max()) + 1
    split = getattr(net, "cd_split", None)  # TRIM's network decomposes on the grid
    if split is not None:
        split = split(*(forward_args or ()))
    scores = cd_scores(getattr(net, "cd_network", net), x.detach(), groups, n_groups, split)
    # every feature of a group gets an equal share of the group's score (as occlusion)
    return share_by_group(scores.index_select(1, groups), feature_mask)


register_method(Method(
    "cd", _cd, {"patch": 1}, baseline=None, forward_only=True, in_main_job=False,
    description="contextual decomposition: the score of each group of inputs "
    "(patch×patch cells, or TRIM's groups) propagated through the "
    "network with the bias shared out (Murdoch et al. 2018); shared "
    "equally by the group's cells"), overwrite=True)
