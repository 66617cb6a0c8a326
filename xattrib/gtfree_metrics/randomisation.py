"""Model parameter randomisation: MPRT (Adebayo et al. 2018), smooth and efficient MPRT
(Hedström et al. 2024), for any torch network."""

from __future__ import annotations

import copy
import zlib
from typing import Any

from .base import GTFREE_METRICS, Batch, GTFreeMetric, area_entropy, rowmean, spearman_rows


def layers(net: Any) -> list[Any]:
    """Modules holding parameters of their own, in registration (forward) order."""
    return [m for m in net.modules() if any(True for _ in m.parameters(recurse=False))]


def randomised(net: Any, which: list[int], seed: int) -> Any:
    """A copy of ``net`` with the parameters of ``layers(net)[i]`` for ``i in which`` redrawn
    from N(0, s²), s each tensor's own std (1 for a single value), seeded per layer."""
    import torch

    out = copy.deepcopy(net)
    mods = layers(out)
    with torch.no_grad():
        for i in which:
            g = torch.Generator().manual_seed(int(zlib.crc32(f"{seed}:{i}".encode())))
            for p in mods[i].parameters(recurse=False):
                s = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 1.0
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device) * s)
    return out


def _cascade(b: Batch, order: str) -> list[list[int]]:
    n_layers = len(layers(b.net))
    if n_layers == 0:
        raise ValueError("MPRT needs a network with parameters to randomise")
    seq = list(range(n_layers))
    if order == "top_down":
        seq = seq[::-1]
    elif order != "bottom_up":
        raise ValueError(f"order must be 'top_down' or 'bottom_up', got {order!r}")
    return [seq[: k + 1] for k in range(n_layers)]


def _smoothed(b: Batch, explain: Any, net: Any, n_noise: int, sigma: float, probe: str) -> Any:
    if n_noise <= 1:
        return explain(b.x, b.base, net)
    n, d = b.x.shape
    xp = b.x[:, None, :] + b.normals(probe, (int(n_noise), d)) * sigma * b.std
    ap = explain(xp.reshape(-1, d), b.base[:, None, :].expand_as(xp).reshape(-1, d), net)
    return rowmean(ap.reshape(n, -1, d).transpose(1, 2))


def mprt(b: Batch, order: str = "top_down", n_noise: int = 1, sigma: float = 0.1) -> Any:
    """Mean over the cascade of Spearman ρ between |a| of the network and |a| of the network
    with its layers randomised cumulatively (``order``: from the output, "top_down", or the
    input, "bottom_up"). Adebayo et al. plot the similarity per layer; this averages it
    (Quantus's ``return_average_correlation``). A method that explains the network drops to
    ~0: lower is better. The seed fixes the random weights."""
    explain = b.need_method("mprt")
    probe = "mprt" if n_noise <= 1 else "smprt"
    ref = _smoothed(b, explain, None, n_noise, sigma, probe).abs()
    sims = [spearman_rows(ref, _smoothed(b, explain, randomised(b.net, which, b.seed),
                                         n_noise, sigma, probe).abs())
            for which in _cascade(b, order)]
    import torch

    return rowmean(torch.stack(sims, -1))


def smprt(b: Batch, order: str = "bottom_up", n_noise: int = 10, sigma: float = 0.1) -> Any:
    """Smooth MPRT (Hedström et al. 2024): MPRT on explanations averaged over ``n_noise``
    noisy copies of the input (σ × each cell's std) before comparing, which removes the
    gradient shattering noise that makes plain MPRT reward noisy maps; bottom-up as in the
    paper. Lower is better."""
    return mprt(b, order=order, n_noise=n_noise, sigma=sigma)


def emprt(b: Batch) -> Any:
    """Efficient MPRT (Hedström et al. 2024): the complexity (area-weighted entropy of |a|)
    of the explanation of the fully randomised network over that of the network. A method
    sensitive to the parameters gives a noisier, more complex map once they are random:
    higher is better. (The paper uses a histogram entropy; this is xattrib's complexity.)"""
    import torch

    explain = b.need_method("emprt")
    full = randomised(b.net, list(range(len(layers(b.net)))), b.seed)
    w = b.w.double().cpu().numpy()
    h0 = area_entropy(b.a.detach().cpu().numpy(), w)
    h1 = area_entropy(explain(b.x, b.base, full).detach().cpu().numpy(), w)
    return torch.from_numpy(h1 / h0)


_HED = "Hedström et al. (2024), TMLR"
GTFREE_METRICS.register("mprt", GTFreeMetric(
    mprt, "model parameter randomisation (mean Spearman over the cascade)", "randomisation",
    "method", False, 0.0, {"order": "top_down", "n_noise": 1, "sigma": 0.1},
    "mean Spearman rho of |a| between the network and its cumulatively randomised copies",
    "Adebayo et al. (2018), NeurIPS", expansion=lambda p: 8))
GTFREE_METRICS.register("smprt", GTFreeMetric(
    smprt, "smooth model parameter randomisation", "randomisation", "method", False, 0.0,
    {"order": "bottom_up", "n_noise": 10, "sigma": 0.1},
    "MPRT on explanations averaged over noisy copies of the input", _HED,
    expansion=lambda p: 8 * int(p["n_noise"])))
GTFREE_METRICS.register("emprt", GTFreeMetric(
    emprt, "efficient model parameter randomisation (complexity ratio)", "randomisation",
    "method", True, float("inf"), {},
    "entropy of the map of the fully randomised network over that of the network", _HED,
    expansion=lambda p: 2))
