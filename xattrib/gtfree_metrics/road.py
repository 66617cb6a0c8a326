"""ROAD for regression on grids: removed cells imputed from neighbouring valid cells."""

from __future__ import annotations

from typing import Any

from .base import GTFREE_METRICS, Batch, GTFreeMetric
from .deletion import auc, relative_change, removal_masks


def impute(b: Batch, xt: Any, removed: Any, n_iter: int, noise: float, probe: str) -> Any:
    """Removed cells take the average of their valid neighbours, iterated ``n_iter`` times
    (Jacobi iterations of the discrete Laplace equation, kept cells fixed: a linear
    interpolation across the hole), plus noise of ``noise`` × the cell's std (Rong et al.'s
    noisy linear imputation). Cells without valid neighbours keep the baseline."""
    import torch

    n, s, d = xt.shape
    nb = b.neighbours  # (d, 4), -1 = none
    has = nb >= 0
    count = has.sum(1).clamp(min=1).to(xt.dtype)
    idx = nb.clamp(min=0)
    fill = removed & has.any(1)
    out = []
    for i in range(n):  # sample by sample: the same shapes whatever the batch (bitwise)
        v = xt[i].clone()
        for _ in range(int(n_iter)):
            v = torch.where(fill[i], (v[..., idx] * has).sum(-1) / count, v)
        out.append(v)
    v = torch.stack(out)
    eps = b.normals(probe, (s, d))
    return torch.where(removed, v + noise * b.std * eps, v)


def road_gap(b: Batch, n_steps: int = 10, n_iter: int = 30, noise: float = 0.1) -> Any:
    """MoRF minus LeRF area when removed cells are imputed from neighbouring valid cells
    (ROAD, Rong et al. 2022) instead of set to the baseline.

    Steps are 1/``n_steps`` … (n_steps − 1)/n_steps of the valid area (with everything
    removed nothing is left to impute from). Regression: each step is scored
    |f(x̃) − f(x)| / |f(x) − f(b)|, never by comparing argmax labels (which makes ROAD
    constant 1 for a one-output regressor). Longitude neighbours wrap on global grids.
    """
    import torch

    q = torch.arange(1, int(n_steps), device=b.x.device, dtype=torch.float64) / n_steps
    areas = []
    for most in (True, False):
        m = removal_masks(b, q, most)
        xt = torch.where(m, b.base[:, None, :], b.x[:, None, :])
        xt = impute(b, xt, m, n_iter, noise, f"road:{most}")
        areas.append(auc(relative_change(b, xt), q))
    return areas[0] - areas[1]


GTFREE_METRICS.register("road_gap", GTFreeMetric(
    road_gap, "ROAD MoRF minus LeRF area", "faithfulness", "model", True, 1.0,
    {"n_steps": 10, "n_iter": 30, "noise": 0.1},
    "MoRF minus LeRF area with removed cells imputed from neighbouring valid cells (noisy "
    "linear imputation) instead of set to the baseline",
    "Rong et al. (2022), ICML", expansion=lambda p: 2 * int(p["n_steps"]),
    ideal_is_bound=False))
