"""Response families: y = scale · F(x), additively separable (Σᵢ Fᵢ(xᵢ)) or with
interactions (:mod:`.interacting`: ``pairs``, ``gating``).

A plug-in family: one module per family, each registering itself in :data:`RESPONSES` (the
one place the names are listed); :mod:`.base` holds the protocol.
"""

from .base import RESPONSES, Response, response_from_params

# isort: off
# One line per member; the order is the registry's.
from .pwl import PiecewiseLinear  # noqa: E402
from .linear import Linear  # noqa: E402
from .tanh import Tanh  # noqa: E402
from .pairs import Pairs  # noqa: E402
from .gating import Gating  # noqa: E402
# isort: on

from .interacting import TRUTH_KINDS, Interacting  # noqa: E402

__all__ = ["RESPONSES", "TRUTH_KINDS", "Gating", "Interacting", "Linear", "Pairs",
           "PiecewiseLinear", "Response", "Tanh", "response_from_params"]
