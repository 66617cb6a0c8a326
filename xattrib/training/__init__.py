"""The model and its training: :class:`Model`, :func:`fit`, users' own networks and the
rules for rebuilding a network from a file."""

from .ensemble import Ensemble
from .fitting import FRESH_RECIPE, fit
from .model import Model

__all__ = ["Ensemble", "FRESH_RECIPE", "Model", "fit"]
