"""``nmae``: Σ w|a − g| / Σ w|g|, the error normalised by the truth's mean magnitude."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric


def nmae(a: np.ndarray, g: np.ndarray, w: np.ndarray, **_: Any) -> np.ndarray:
    den = (w * np.abs(g)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (w * np.abs(a - g)).sum(-1) / np.where(den > 0, den, 1), np.nan)


TRUTH_METRICS.register('nmae', TruthMetric(
    nmae, "mean absolute error normalised by the truth's mean magnitude", '1',
    'Σw|a − g| / Σw|g|'))
