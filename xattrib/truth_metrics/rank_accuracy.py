"""``rank_accuracy``: the fraction of the top-k cells of a⁺ that are top-k cells of g⁺
(Arras et al. 2022, for continuous truth)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric, top_count, topk_mask


def rank_accuracy(a: np.ndarray, g: np.ndarray, w: np.ndarray, k: float = 0.1, **_: Any
                  ) -> np.ndarray:
    ap, gp = np.clip(a, 0, None), np.clip(g, 0, None)
    kk = top_count(a.shape[-1], k)
    gt = topk_mask(gp, kk) & (gp > 0)
    n_gt = gt.sum(-1)
    hits = (topk_mask(ap, kk) & gt & (ap > 0)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_gt > 0, hits / np.maximum(n_gt, 1), np.nan)


TRUTH_METRICS.register('rank_accuracy', TruthMetric(
    rank_accuracy, 'fraction of top-k positive relevance in top-k truth', '1',
    'share of the top-k cells of a⁺ that are top-k cells of g⁺ (Arras et al. 2022)'))
