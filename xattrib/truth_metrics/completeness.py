"""``completeness``: |Σ a − Σ g| (unweighted sums: completeness is about totals)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric


def completeness(a: np.ndarray, g: np.ndarray, w: np.ndarray, **_: Any) -> np.ndarray:
    return np.abs(a.sum(-1) - g.sum(-1))


TRUTH_METRICS.register('completeness', TruthMetric(
    completeness, 'absolute difference of attribution and truth totals', '',
    '|Σa − Σg| (unweighted sums)'))
