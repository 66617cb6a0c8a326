"""``relevance_mass``: the share of the positive attribution a⁺ that falls on cells whose
truth is positive (the continuous analogue of a ground-truth mask; negatives clipped)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric


def relevance_mass(a: np.ndarray, g: np.ndarray, w: np.ndarray, k: float = 0.1, **_: Any
                   ) -> np.ndarray:
    ap = np.clip(a, 0, None)
    gt = g > 0
    total = ap.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (ap * gt).sum(-1) / np.where(total > 0, total, 1.0), np.nan)


TRUTH_METRICS.register('relevance_mass', TruthMetric(
    relevance_mass, 'share of positive relevance on positive-truth cells', '1',
    'share of the positive relevance a⁺ on cells whose truth is positive'))
