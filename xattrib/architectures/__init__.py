"""Network architectures xattrib builds by name: the MLP of Mamalakis et al., a CNN on the
grid, and the benchmark's exact F as a network.

A plug-in family: one module per architecture, each registering itself in
:data:`ARCHITECTURES` (the one place the names are listed); :mod:`.base` holds the protocol.
"""

from .base import ACTIVATIONS, ARCHITECTURES, Architecture, build_module, make_activation
from .folding import fold_normalisation

# isort: off
# One line per member; the order is the registry's.
from .mlp import MLP  # noqa: E402
from .cnn import CNN  # noqa: E402
from .additive import Additive  # noqa: E402
from .exact import ExactInteracting, ExactResponse  # noqa: E402
# isort: on

__all__ = ["ACTIVATIONS", "ARCHITECTURES", "Additive", "Architecture", "CNN", "ExactInteracting",
           "ExactResponse", "MLP",
           "build_module", "fold_normalisation", "make_activation"]
