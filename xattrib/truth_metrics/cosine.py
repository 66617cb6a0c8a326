"""``cosine``: the weighted uncentred cosine similarity."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric, unit_max


def cosine(a: np.ndarray, g: np.ndarray, w: np.ndarray, **_: Any) -> np.ndarray:
    a, g = unit_max(a), unit_max(g)
    num = (w * a * g).sum(-1)
    den = np.sqrt((w * a * a).sum(-1)) * np.sqrt((w * g * g).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


TRUTH_METRICS.register('cosine', TruthMetric(
    cosine, 'weighted cosine similarity with the truth', '1',
    'weighted uncentred cosine similarity'))
