"""Complexity: sparseness (area-weighted Gini) and complexity (area-weighted entropy)."""

from __future__ import annotations

from typing import Any

from .base import GTFREE_METRICS, Batch, GTFreeMetric, area_entropy, area_gini


def sparseness(b: Batch) -> Any:
    """Gini coefficient of |a| over cells weighted by area (Chalasani et al. 2020's
    sparseness with areas): 0 for a constant map, → 1 for one non-zero cell. Which value is
    good depends on the truth: a dense truth should not reward sparse maps (the audit
    compares with the truth's own value)."""
    import torch

    return torch.from_numpy(area_gini(b.a.detach().cpu().numpy(), b.w.double().cpu().numpy()))


def complexity(b: Batch) -> Any:
    """Shannon entropy (natural log) of the area-weighted share w|a| / Σ w|a| (Bhatt et al.
    2020's complexity with areas): log(number of cells) for a uniform map on equal-area
    cells, 0 for one non-zero cell."""
    import torch

    return torch.from_numpy(area_entropy(b.a.detach().cpu().numpy(),
                                         b.w.double().cpu().numpy()))


GTFREE_METRICS.register("sparseness", GTFreeMetric(
    sparseness, "sparseness (area-weighted Gini of |attribution|)", "complexity", "map", True,
    1.0, {}, "Gini coefficient of |attribution| with cells weighted by area",
    "Chalasani et al. (2020), ICML"))
GTFREE_METRICS.register("complexity", GTFreeMetric(
    complexity, "complexity (entropy of the area-weighted |attribution| share)", "complexity",
    "map", False, 0.0, {}, "Shannon entropy (nats) of the area-weighted |attribution| share",
    "Bhatt, Weller & Moura (2020), IJCAI", units="1"))
