"""Attribution methods: a name → a captum method with documented defaults.

A plug-in family: one module per method, each registering itself in :data:`METHODS` (the one
place the names are listed); :mod:`.base` holds the protocol and :func:`register_method`
adds your own.
"""

from .base import METHOD_DIM, METHODS, Method, get_method, register_method

# isort: off
# One line per member. The order is the registry's: tables, the job's defaults and its
# report list the methods in it.
from . import gradient  # noqa: F401,E402
from . import smoothgrad  # noqa: F401,E402
from . import input_x_gradient  # noqa: F401,E402
from . import integrated_gradients  # noqa: F401,E402
from . import deeplift  # noqa: F401,E402
from . import deepshap  # noqa: F401,E402
from . import gradientshap  # noqa: F401,E402
from . import lrp  # noqa: F401,E402
from . import occlusion  # noqa: F401,E402
from . import shapley_sampling  # noqa: F401,E402
from . import cd  # noqa: F401,E402
# isort: on

__all__ = ["METHODS", "METHOD_DIM", "Method", "get_method", "register_method"]
