"""Scoring: heatmaps against the truth per sample, and summaries across samples."""

from . import summary
from .summary import null_attributions, skill_map, summarize
from .truth import score

__all__ = ["null_attributions", "score", "skill_map", "summarize", "summary"]
