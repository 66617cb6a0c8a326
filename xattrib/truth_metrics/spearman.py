"""``spearman``: the weighted Pearson correlation of the ranks."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric
from .pearson import pearson


def _ranks(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, axis=-1)


def spearman(a: np.ndarray, g: np.ndarray, w: np.ndarray, **_: Any) -> np.ndarray:
    return pearson(_ranks(a), _ranks(g), w)


TRUTH_METRICS.register('spearman', TruthMetric(
    spearman, 'weighted Spearman rank correlation with the truth', '1',
    'weighted Pearson r of the ranks'))
