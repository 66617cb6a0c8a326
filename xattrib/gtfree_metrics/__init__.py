"""GT-free metrics: what users rank attribution methods with on real data, where
no truth exists — faithfulness, robustness, randomisation and complexity — rewritten for
regression on grids (area weights, land never touched, real-valued prediction changes).
:func:`xattrib.evaluate` computes them; :func:`xattrib.audit` checks them against the truth.

A family: :data:`GTFREE_METRICS` lists them; each member is its own module.
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
from .base import CATEGORIES, GTFREE_METRICS, Batch, GTFreeMetric, gtfree_metric_names

#: older names (this package was ``xattrib.probes``), kept for users' code
PROBES, Probe, probe_names, FAMILIES = GTFREE_METRICS, GTFreeMetric, gtfree_metric_names, CATEGORIES

__all__ = ["CATEGORIES", "GTFREE_METRICS", "Batch", "GTFreeMetric", "gtfree_metric_names"]
