"""Response families: the additively separable y = scale · Σᵢ Fᵢ(xᵢ) a benchmark responds with.

A plug-in family: one module per family, registered in :data:`RESPONSES` (the one place its
names are listed); :mod:`.base` holds the protocol.
"""

from .base import RESPONSES, Response, response_from_params
from .linear import Linear
from .pwl import PiecewiseLinear
from .tanh import Tanh

__all__ = ["RESPONSES", "Linear", "PiecewiseLinear", "Response", "Tanh", "response_from_params"]
