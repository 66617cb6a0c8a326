"""GT-free metrics ("probes"): what users rank attribution methods with on real data, where
no truth exists — faithfulness, robustness, randomisation and complexity — rewritten for
regression on grids (area weights, land never touched, real-valued prediction changes).
:func:`xattrib.evaluate` computes them; :func:`xattrib.audit` checks them against the truth.

A family: :data:`PROBES` lists them; each member is its own module.
"""

# members register themselves on import (one module each)
from . import (
    complexity,  # noqa: F401,E402
    deletion,  # noqa: F401,E402
    faithfulness_correlation,  # noqa: F401,E402
    monotonicity_correlation,  # noqa: F401,E402
    random_output,  # noqa: F401,E402
    randomisation,  # noqa: F401,E402
    road,  # noqa: F401,E402
    sensitivity,  # noqa: F401,E402
)
from .base import FAMILIES, PROBES, Batch, Probe, probe_names

__all__ = ["FAMILIES", "PROBES", "Batch", "Probe", "probe_names"]
