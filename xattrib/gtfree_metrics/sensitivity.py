"""Average and max sensitivity (Yeh et al. 2019), perturbations scaled by each cell's std."""

from __future__ import annotations

from typing import Any

from .base import GTFREE_METRICS, Batch, GTFreeMetric, rowmean, weighted_norm


def _ratios(b: Batch, n_samples: int, radius: float) -> Any:
    """``(n, n_samples)``: ||a(x + δ) − a(x)|| / ||a(x)|| (area-weighted norms), δ uniform in
    ±``radius`` × each cell's std (land untouched: it never reaches the kernel)."""
    key = f"sensitivity:{n_samples}:{radius}"
    if key not in b.cache:
        explain = b.need_method("sensitivity")
        n, d = b.x.shape
        u = b.uniforms("sensitivity", (int(n_samples), d))
        xp = b.x[:, None, :] + (2 * u - 1) * radius * b.std
        bp = b.base[:, None, :].expand_as(xp)
        ap = explain(xp.reshape(-1, d), bp.reshape(-1, d)).reshape(n, -1, d)
        b.cache[key] = weighted_norm(ap - b.a[:, None, :], b.w) / weighted_norm(
            b.a, b.w)[:, None]
    return b.cache[key]


def avg_sensitivity(b: Batch, n_samples: int = 10, radius: float = 0.2) -> Any:
    """Mean over ``n_samples`` perturbations δ ~ U(−r, r)·std of ||a(x+δ) − a(x)|| / ||a(x)||
    (area-weighted L2; the method re-run with its recorded parameters). Yeh et al. use a
    uniform ball and the same normalised difference; lower is better."""
    return rowmean(_ratios(b, n_samples, radius))


def max_sensitivity(b: Batch, n_samples: int = 10, radius: float = 0.2) -> Any:
    """The largest of the same ratios (lower is better)."""
    return _ratios(b, n_samples, radius).amax(-1)


def local_lipschitz(b: Batch, n_samples: int = 10, sigma: float = 0.1) -> Any:
    """max over δ ~ N(0, (σ·std)²) of ||a(x+δ) − a(x)|| / ||δ|| (area-weighted L2),
    Alvarez-Melis & Jaakkola (2018)'s local Lipschitz estimate by sampling (their
    optimisation-based search is not batched); lower is better. In the inputs' units: a
    Lipschitz constant is a ratio of attribution to input."""
    explain = b.need_method("local_lipschitz")
    n, d = b.x.shape
    delta = b.normals("local_lipschitz", (int(n_samples), d)) * sigma * b.std
    xp = b.x[:, None, :] + delta
    ap = explain(xp.reshape(-1, d), b.base[:, None, :].expand_as(xp).reshape(-1, d)
                 ).reshape(n, -1, d)
    return (weighted_norm(ap - b.a[:, None, :], b.w) / weighted_norm(delta, b.w)).amax(-1)


_YEH = "Yeh et al. (2019), NeurIPS"
GTFREE_METRICS.register("avg_sensitivity", GTFreeMetric(
    avg_sensitivity, "average sensitivity", "robustness", "method", False, 0.0,
    {"n_samples": 10, "radius": 0.2},
    "mean relative change of the map under small uniform input perturbations (std-scaled)",
    _YEH, expansion=lambda p: int(p["n_samples"])))
GTFREE_METRICS.register("max_sensitivity", GTFreeMetric(
    max_sensitivity, "max sensitivity", "robustness", "method", False, 0.0,
    {"n_samples": 10, "radius": 0.2},
    "largest relative change of the map under small uniform input perturbations",
    _YEH, expansion=lambda p: int(p["n_samples"])))
GTFREE_METRICS.register("local_lipschitz", GTFreeMetric(
    local_lipschitz, "local Lipschitz estimate", "robustness", "method", False, 0.0,
    {"n_samples": 10, "sigma": 0.1},
    "largest ratio of map change to input change under small Gaussian perturbations",
    "Alvarez-Melis & Jaakkola (2018), arXiv:1806.08049",
    expansion=lambda p: int(p["n_samples"])))
