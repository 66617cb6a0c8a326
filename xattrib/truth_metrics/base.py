"""The protocol of metrics against the truth, their registry and shared weighted kernels.

A metric compares one heatmap ``a`` with one truth ``g`` per sample: a numpy kernel
``kernel(a, g, w, **params) -> values`` over cells on the last axis with normalised weights
``w`` (summing to 1). :func:`xattrib.score` stacks valid cells once and applies every kernel
over ``(xai_method, sample)`` with ``xr.apply_ufunc``.

A new metric is one module with its kernel and one registration line,
``TRUTH_METRICS.register("name", TruthMetric(kernel, long_name, units, description))``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..registry import Registry

__all__ = ["TRUTH_METRICS", "TruthMetric", "center", "spread", "top_count", "topk_mask", "unit_max"]


@dataclass(frozen=True)
class TruthMetric:
    """A metric against the truth: its kernel, CF ``long_name`` and ``units`` ("" = the
    heatmap's units) and the convention it follows (written into the scores' attributes)."""

    kernel: Callable[..., np.ndarray]
    long_name: str
    units: str
    description: str = ""


#: name → :class:`TruthMetric`; similarity metrics are 1 for a perfect map
TRUTH_METRICS: Registry[TruthMetric] = Registry(
    "metric", columns={"long name": lambda m: m.long_name})


def center(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    return a - (a * w).sum(-1, keepdims=True)


def spread(v: np.ndarray, vc: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted variance, and whether it is real: a constant map leaves rounding residue
    after centring, which must read as zero variance (correlation undefined), not noise."""
    var = (w * vc * vc).sum(-1)
    return var, var > 1e-12 * (w * v * v).sum(-1)


def unit_max(v: np.ndarray) -> np.ndarray:
    """``v`` over its largest magnitude per map (scale-free metrics only): squares of tiny
    maps (|v| ~ 1e-161) would otherwise fall into subnormals and lose their precision."""
    v = v.astype(np.float64, copy=False)  # float32 maps: divide without float32 rounding
    with np.errstate(invalid="ignore"):
        m = np.abs(v).max(-1, keepdims=True)
    return v / np.where(m > 0, m, 1.0)


def topk_mask(v: np.ndarray, k: int) -> np.ndarray:
    idx = np.argpartition(-v, k - 1, axis=-1)[..., :k]
    m = np.zeros(v.shape, bool)
    np.put_along_axis(m, idx, True, axis=-1)
    return m


def top_count(d: int, k: float) -> int:
    return int(min(d, max(1, round(k * d)))) if k < 1 else int(min(d, k))
