"""``pearson``: the weighted Pearson correlation of a heatmap with the truth."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric, center, spread, unit_max


def pearson(a: np.ndarray, g: np.ndarray, w: np.ndarray, **_: Any) -> np.ndarray:
    a, g = unit_max(a), unit_max(g)
    ac, gc = center(a, w), center(g, w)
    (va, oka), (vg, okg) = spread(a, ac, w), spread(g, gc, w)
    ok = oka & okg
    num = (w * ac * gc).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, num / np.sqrt(np.where(ok, va * vg, 1.0)), np.nan)


TRUTH_METRICS.register('pearson', TruthMetric(
    pearson, 'weighted Pearson correlation with the truth', '1',
    "weighted Pearson r (the original's metric, with `weights=None`)"))
