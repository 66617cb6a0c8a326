"""Stage: GT-free metrics of heatmaps (:func:`evaluate`) and their audit against the truth
(:func:`audit`, :func:`trust_table`)."""

from .gtfree import evaluate
from .trust import DEFAULT_AUDIT_METHODS, audit, family_skill_table, ladder_maps, trust_table

__all__ = ["DEFAULT_AUDIT_METHODS", "audit", "evaluate", "family_skill_table", "ladder_maps",
           "trust_table"]
