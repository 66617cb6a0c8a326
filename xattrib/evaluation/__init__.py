"""Stage: GT-free metrics of heatmaps (:func:`evaluate`) and their audit against the truth
(:func:`audit`, :func:`trust_table`)."""

from .auditing import DEFAULT_AUDIT_METHODS, audit, category_skill_table, ladder_maps, trust_table
from .gtfree import evaluate

__all__ = ["DEFAULT_AUDIT_METHODS", "audit", "evaluate", "category_skill_table", "ladder_maps",
           "trust_table"]
