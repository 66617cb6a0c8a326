"""Stage: GT-free metrics of heatmaps (:func:`evaluate`) and their audit against the truth
(:func:`audit`, :func:`trust_table`, the rule of trust :func:`verdict`)."""

from .auditing import (
    DEFAULT_AUDIT_METHODS,
    TRUST_RULE,
    VERDICTS,
    audit,
    category_skill_table,
    ladder_maps,
    trust_table,
    verdict,
)
from .gtfree import evaluate

#: older name of :func:`category_skill_table`, kept for users' code
family_skill_table = category_skill_table

__all__ = ["DEFAULT_AUDIT_METHODS", "TRUST_RULE", "VERDICTS", "audit", "evaluate",
           "category_skill_table", "ladder_maps", "trust_table", "verdict"]
