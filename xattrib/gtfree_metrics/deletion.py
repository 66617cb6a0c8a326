"""Deletion curves: cells removed most-relevant first (MoRF) and least-relevant first (LeRF),
by area fraction, scored for regression."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import GTFREE_METRICS, Batch, GTFreeMetric


def removal_masks(b: Batch, fractions: Any, most_first: bool) -> Any:
    """``(n, S, d)``: the cells removed at each area fraction, taken in the order of |a|
    (largest first with ``most_first``), a cell removed once the area up to and including it
    fits in the fraction."""
    import torch

    order = torch.argsort(b.a.abs(), dim=1, descending=most_first, stable=True)
    cum = torch.cumsum(b.w.double()[order], dim=1)  # area up to each cell in that order
    removed_sorted = cum[:, None, :] <= fractions[None, :, None] + 1e-9
    out = torch.empty_like(removed_sorted)
    out.scatter_(2, order[:, None, :].expand_as(removed_sorted), removed_sorted)
    return out


def relative_change(b: Batch, xt: Any) -> Any:
    """|f(x̃) − f(x)| / |f(x) − f(baseline)| for ``xt`` of shape ``(n, S, d)``."""
    import torch

    n, s, d = xt.shape
    out = b.f(xt.reshape(-1, d)).reshape(n, s).cpu()
    scale = (b.fx - b.fb).abs().cpu()
    ok = scale > 1e-12 * (b.fx.abs().cpu() + b.fb.abs().cpu() + 1e-30)
    return torch.where(ok[:, None], (out - b.fx.cpu()[:, None]).abs() / torch.where(
        ok, scale, 1.0)[:, None], torch.full_like(out, float("nan")))


def auc(curve: Any, fractions: Any) -> Any:
    """Trapezoidal area under a curve over [0, last fraction], starting from 0 at 0 (row by
    row in numpy: see :func:`xattrib.gtfree_metrics.base.rowsum`)."""
    import torch

    y = np.concatenate([np.zeros((curve.shape[0], 1)), curve.detach().cpu().double().numpy()],
                       axis=1)
    x = np.concatenate([[0.0], fractions.detach().cpu().double().numpy()])
    area = np.ascontiguousarray((y[:, 1:] + y[:, :-1]) / 2 * np.diff(x)).sum(1)
    return torch.from_numpy(area / x[-1])


def _curves(b: Batch, n_steps: int) -> tuple[Any, Any]:
    import torch

    key = f"deletion:{n_steps}"
    if key not in b.cache:
        q = torch.arange(1, int(n_steps) + 1, device=b.x.device, dtype=torch.float64) / n_steps
        areas = []
        for most in (True, False):
            m = removal_masks(b, q, most)
            xt = torch.where(m, b.base[:, None, :], b.x[:, None, :])
            areas.append(auc(relative_change(b, xt), q))
        b.cache[key] = tuple(areas)
    return b.cache[key]


def deletion_morf(b: Batch, n_steps: int = 20) -> Any:
    """Area under the MoRF deletion curve: cells set to the baseline most-|a|-first in steps
    of 1/``n_steps`` of the valid area, each step scored |f(x̃) − f(x)| / |f(x) − f(b)|
    (regression: the relative prediction change, not a class probability; NaN where
    f(x) = f(b)). A faithful map moves the prediction early: higher is better."""
    return _curves(b, n_steps)[0]


def deletion_lerf(b: Batch, n_steps: int = 20) -> Any:
    """Area under the LeRF curve (least-|a| first): a faithful map leaves the prediction
    alone while its irrelevant cells go, so lower is better."""
    return _curves(b, n_steps)[1]


def deletion_gap(b: Batch, n_steps: int = 20) -> Any:
    """MoRF area minus LeRF area (the area between the curves; higher is better)."""
    morf, lerf = _curves(b, n_steps)
    return morf - lerf


_REF = "Samek et al. (2017), IEEE TNNLS; Rong et al. (2022), ICML (MoRF/LeRF)"
for _name, _fn, _higher, _ideal, _what in (
        ("deletion_morf", deletion_morf, True, 1.0, "area under the MoRF deletion curve"),
        ("deletion_lerf", deletion_lerf, False, 0.0, "area under the LeRF deletion curve"),
        ("deletion_gap", deletion_gap, True, 1.0, "MoRF minus LeRF deletion area")):
    GTFREE_METRICS.register(_name, GTFreeMetric(
        _fn, _what, "faithfulness", "model", _higher, _ideal, {"n_steps": 20},
        f"{_what}: cells set to the baseline by area fraction, scored by the prediction "
        "change relative to f(x) - f(baseline)", _REF,
        expansion=lambda p: 2 * int(p["n_steps"]), ideal_is_bound=False))
