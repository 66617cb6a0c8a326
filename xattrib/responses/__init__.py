"""Response families: the additively separable y = scale · Σᵢ Fᵢ(xᵢ) a benchmark responds with.

A plug-in family: one module per family, each registering itself in :data:`RESPONSES` (the
one place the names are listed); :mod:`.base` holds the protocol.
"""

from .base import RESPONSES, Response, response_from_params

# isort: off
# One line per member; the order is the registry's.
from .pwl import PiecewiseLinear  # noqa: E402
from .linear import Linear  # noqa: E402
from .tanh import Tanh  # noqa: E402
# isort: on

__all__ = ["RESPONSES", "Linear", "PiecewiseLinear", "Response", "Tanh", "response_from_params"]
