"""Metrics against the truth: one heatmap against one truth, per sample over valid cells.

A plug-in family: one module per metric, each registering itself in :data:`TRUTH_METRICS` (the one
place the names are listed); :mod:`.base` holds the protocol. :func:`xattrib.score` applies
them.
"""

from .base import TRUTH_METRICS, TruthMetric

# isort: off
# One line per member; the order is the registry's (score tables list metrics in it).
from .pearson import pearson  # noqa: E402
from .spearman import spearman  # noqa: E402
from .cosine import cosine  # noqa: E402
from .sign_agreement import sign_agreement  # noqa: E402
from .topk import topk  # noqa: E402
from .relevance_mass import relevance_mass  # noqa: E402
from .rank_accuracy import rank_accuracy  # noqa: E402
from .nmae import nmae  # noqa: E402
from .completeness import completeness  # noqa: E402
# isort: on

#: older name of the registry (this package was ``xattrib.metrics``), kept for users' code
METRICS = TRUTH_METRICS

__all__ = ["TRUTH_METRICS", "TruthMetric", "completeness", "cosine", "nmae", "pearson",
           "rank_accuracy", "relevance_mass", "sign_agreement", "spearman", "topk"]
