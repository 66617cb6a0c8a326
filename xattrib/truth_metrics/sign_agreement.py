"""``sign_agreement``: the weighted fraction of cells with the truth's sign, among cells
where |g| ≥ ``sign_threshold`` · max|g| (cells with negligible truth have no meaningful sign)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import TRUTH_METRICS, TruthMetric


def sign_agreement(a: np.ndarray, g: np.ndarray, w: np.ndarray, sign_threshold: float = 0.05,
                   **_: Any) -> np.ndarray:
    ag = np.abs(g)
    keep = ag >= sign_threshold * ag.max(-1, keepdims=True)
    keep &= ag > 0
    wk = w * keep
    agree = (np.sign(a) == np.sign(g)) & keep
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * agree).sum(-1) / wk.sum(-1)


TRUTH_METRICS.register('sign_agreement', TruthMetric(
    sign_agreement, "weighted fraction of cells with the truth's sign", '1',
    "weighted share of cells with the truth's sign, among cells with |g| ≥ `sign_threshold` (5 %) of max |g|"))
