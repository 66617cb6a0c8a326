"""Faithfulness correlation (Bhatt, Weller & Moura 2020), for regression on grids."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GTFREE_METRICS, Batch, GTFreeMetric, pearson_rows, positive_count


def subset_size(d: int, subset: float) -> int:
    """Cells per subset: a fraction of the valid cells (< 1) or a count."""
    k = int(round(subset * d)) if subset < 1 else int(subset)
    if not 1 <= k <= d:
        raise ValueError(f"faithfulness_correlation subset must give between 1 and the {d} "
                         f"valid cells, got "
                         f"subset={subset!r} ({k} cells); use a fraction in (0, 1) or a count "
                         f"≤ {d}")
    return k


def area_subsets(b: Batch, probe: str, n_runs: int, k: int) -> np.ndarray:
    """``(n, n_runs, k)`` cell indices of k cells each, drawn without replacement with
    probability proportional to cell area (Efraimidis & Spirakis 2006: the k largest
    u^(1/w)), from each sample's own generator."""
    w = b.w.double().cpu().numpy()
    n, d = b.x.shape
    idx = np.empty((n, n_runs, k), np.intp)
    for i in range(n):
        keys = np.log(b.rng(i, probe).random((n_runs, d)))
        keys /= w
        idx[i] = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    return idx


def _check(p: dict[str, Any], d: int) -> None:
    positive_count("faithfulness_correlation n_runs", p["n_runs"], 2)
    subset_size(d, p["subset"])


def faithfulness_correlation(b: Batch, n_runs: int = 100, subset: float = 0.1) -> Any:
    """Pearson r over ``n_runs`` random cell subsets S between Σᵢ∈S aᵢ and
    f(x) − f(x with S set to the baseline).

    Subsets hold ``subset`` of the valid cells (a fraction, or a count), drawn with
    probability proportional to area. Regression: the prediction change is the raw output
    difference, not a class probability. For a linear network and a complete method with
    the same baseline the sums equal the changes, so r = 1 exactly.
    """
    import torch

    n, d = b.x.shape
    k = subset_size(d, subset)
    idx = area_subsets(b, "faithfulness_correlation", int(n_runs), k)
    it = torch.from_numpy(idx).to(b.x.device)
    # each run's copy of x with its subset set to the baseline, written in place
    xt = b.x[:, None, :].repeat(1, int(n_runs), 1)
    xt.scatter_(2, it, b.base[:, None, :].expand_as(xt).gather(2, it))
    change = b.fx[:, None] - b.f(xt.reshape(-1, d)).reshape(n, -1)
    # Σᵢ∈S aᵢ from the k chosen cells alone (float64, in a fixed order per sample)
    a64 = b.a.detach().cpu().double().numpy()
    sums = torch.from_numpy(a64[np.arange(n)[:, None, None], idx].sum(-1))
    return pearson_rows(sums, change)


GTFREE_METRICS.register("faithfulness_correlation", GTFreeMetric(
    faithfulness_correlation, "faithfulness correlation", "faithfulness", "model", True, 1.0,
    {"n_runs": 100, "subset": 0.1},
    "Pearson r between the attribution summed over random area-drawn cell subsets and the "
    "prediction change when those cells are set to the baseline",
    "Bhatt, Weller & Moura (2020), IJCAI", expansion=lambda p: int(p["n_runs"]),
    check=lambda p, d: _check(p, d)))
