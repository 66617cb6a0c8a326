"""Random output: the regression analogue of random-logit (Sixt et al. 2020) for networks
with several outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GTFREE_METRICS, Batch, GTFreeMetric, spearman_rows


def random_output(b: Batch) -> Any:
    """Spearman ρ between |a| for the output explained and |a| for another output of the
    same network, drawn at random per sample (seeded), on the same input: a method that
    explains the *output* gives different maps for outputs that read different cells, so
    lower is better.

    Sixt et al. (2020) compare the explanation of the predicted class with that of a random
    other class; a regressor has no predicted class, so this compares the output the maps
    explain with a random other output (Niño 3.4 against the PDO index, say). Similarity is
    Spearman of |a|, as in MPRT. Needs a model of two or more outputs."""
    import torch

    explain = b.need_method("random_output")
    assert b.output_net is not None
    n = b.x.shape[0]
    out = torch.empty(n, dtype=torch.float64)
    others = [int(b.rng(i, "random_output").integers(b.n_outputs - 1)) for i in range(n)]
    others = [j if j < b.output else j + 1 for j in others]
    for j in sorted(set(others)):
        rows = np.flatnonzero(np.asarray(others) == j)
        net = b.output_net(j)
        for i in rows:  # one sample at a time: a sample's value never depends on its batch
            aj = explain(b.x[i:i + 1], b.base[i:i + 1], net)
            out[i] = spearman_rows(b.a[i:i + 1].abs(), aj.abs())[0]
    return out


GTFREE_METRICS.register("random_output", GTFreeMetric(
    random_output, "random output (random-logit for regression)", "randomisation", "method",
    False, 0.0, {}, "Spearman rho of |a| between the output explained and a random other "
    "output of the same network", "Sixt et al. (2020), ICML (random logit), for regression",
    expansion=lambda p: 1, min_outputs=2))
