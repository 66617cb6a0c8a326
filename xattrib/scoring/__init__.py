"""Scoring: heatmaps against the truth per sample, and summaries across samples."""

from . import summary
from .ensembles import agreement, decompose_error, split_error
from .summary import null_attributions, skill_map, summarize
from .truth import score, score_kinds, truth_kinds

__all__ = ["agreement", "decompose_error", "null_attributions", "score", "score_kinds",
           "skill_map", "split_error", "summarize", "summary", "truth_kinds"]
