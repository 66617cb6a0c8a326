"""``topk``: the fraction of the top-k cells by |g| that are also top-k by |a|."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric, top_count, topk_mask


def topk(a: np.ndarray, g: np.ndarray, w: np.ndarray, k: float = 0.1, **_: Any) -> np.ndarray:
    kk = top_count(a.shape[-1], k)
    return (topk_mask(np.abs(a), kk) & topk_mask(np.abs(g), kk)).sum(-1) / kk


TRUTH_METRICS.register('topk', TruthMetric(
    topk, 'overlap of the top-k cells by magnitude', '1',
    'overlap of the top-k (10 %) cells by |a| and by |g|'))
