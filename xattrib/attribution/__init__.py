"""Attribution: heatmaps on the grid (:func:`attribute`) and in transformed spaces
(:func:`trim`)."""

from .heatmaps import attribute
from .transformed import TrimNetwork, trim

__all__ = ["TrimNetwork", "attribute", "trim"]
