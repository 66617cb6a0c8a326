"""The protocol of GT-free metrics, their registry and shared torch kernels.

A GT-free metric scores one heatmap per sample without a truth, from the network and the inputs:
faithfulness (does removing what the map calls relevant change the prediction?), robustness
(does the map change when the input barely does?), randomisation (does the map change when
the network does?) and complexity (how concentrated is the map?). Each metric is one module
with a kernel ``kernel(batch, **params) -> (n,)`` over a :class:`Batch` of samples on the
model's valid cells, and one registration line. :func:`xattrib.evaluate` builds the batches
lazily per sample chunk and applies every kernel.

Conventions shared by every GT-free metric (regression on grids):

- cells are weighted by area (``Batch.w`` sums to 1) wherever cells are drawn, ordered by
  area fraction or summed; invalid cells (land) never reach a kernel, so they are never
  perturbed or counted;
- "removing" cells sets them to the baseline (xattrib's baseline vocabulary; zero =
  climatology for anomalies), except ROAD, which imputes them from neighbouring valid cells;
- prediction changes are real-valued (no labels): ``f(x̃) − f(x)``, relative to
  ``f(x) − f(baseline)`` where a scale is needed;
- every random draw is seeded by ``(seed, metric name, global sample index)``: results do not
  depend on chunking, batching or scheduler.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..registry import Registry
from ..truth_metrics import TRUTH_METRICS

__all__ = ["CATEGORIES", "GTFREE_METRICS", "Batch", "CannotRerun", "GTFreeMetric", "gtfree_metric_names", "area_entropy", "area_gini", "pearson_rows",
           "rowmean", "rowsum", "spearman_rows", "weighted_norm"]

#: the four categories of GT-free metrics (Bommer et al. 2024); "family" in xattrib means
#: a plug-in registry (``xattrib list``), never one of these
CATEGORIES = ("faithfulness", "robustness", "randomisation", "complexity")


@dataclass(frozen=True)
class GTFreeMetric:
    """A GT-free metric: its kernel, what it needs and how to read it.

    ``needs``: ``"map"`` (the heatmap alone), ``"model"`` (the network's predictions on
    perturbed inputs) or ``"method"`` (re-running the attribution method: only for maps made
    by a registered method). ``higher_is_better`` orients it; ``ideal`` is its best possible
    value (the skill score's reference). ``expansion`` is the forward passes per sample and
    method for the given parameters (it sizes the batches).
    """

    kernel: Callable[..., Any]
    long_name: str
    category: str
    needs: str
    higher_is_better: bool
    ideal: float
    defaults: dict[str, Any]
    description: str
    reference: str
    expansion: Callable[[dict[str, Any]], int] = field(default=lambda p: 1)
    units: str = "1"
    #: ``check(params, n_cells)`` raises ValueError for impossible parameters (before any
    #: compute); None: nothing to check
    check: Callable[[dict[str, Any], int], None] | None = None
    #: the fewest network outputs it applies to (2: it compares the outputs' explanations)
    min_outputs: int = 1
    #: whether ``ideal`` bounds the metric's values (no map can beat it). Only then is a skill
    #: score (Q − Q_random) / (Q_ideal − Q_random) at most 1, as a skill score must be; the
    #: deletion and ROAD areas are prediction changes relative to f(x) − f(b), which a
    #: nonlinear network overshoots (areas above 1), so they get no skill score
    ideal_is_bound: bool = True

    @property
    def family(self) -> str:
        """Older name of :attr:`category`, kept for users' code."""
        return self.category


#: name → :class:`GTFreeMetric`; ``xattrib list gtfree-metrics`` prints it
GTFREE_METRICS: Registry[GTFreeMetric] = Registry(
    "GT-free metric", plural="GT-free metrics",
    columns={"category": lambda p: p.category, "needs": lambda p: p.needs,
             "better": lambda p: "higher" if p.higher_is_better else "lower",
             "long name": lambda p: p.long_name})


@dataclass
class Batch:
    """Samples of one method's heatmaps on the model's valid cells, as torch tensors.

    ``x``, ``a``, ``base``: ``(n, d)`` inputs, attributions, baselines; ``w``: ``(d,)`` cell
    weights summing to 1; ``std``: ``(d,)`` each cell's standard deviation (perturbation
    scale); ``index``: the samples' global indices (seeds); ``neighbours``: ``(d, 4)`` valid
    neighbour of each cell (−1: none; longitude periodic on global grids). ``f`` evaluates
    the network on ``(N, d)`` rows; ``explain(x, base, net=None)`` re-runs the method (None
    for maps no registered method made); ``output_net(j)`` is the network of the model's
    output ``j`` (the maps explain output ``output`` of ``n_outputs``).
    """

    x: Any
    a: Any
    base: Any
    w: Any
    std: Any
    index: np.ndarray
    seed: int
    neighbours: Any
    f: Callable[[Any], Any]
    explain: Callable[..., Any] | None
    net: Any
    cache: dict[str, Any] = field(default_factory=dict)
    #: the model's output these maps explain, how many it has, and the network of another
    output: int = 0
    n_outputs: int = 1
    output_net: Callable[[int], Any] | None = None

    @property
    def fx(self) -> Any:
        if "fx" not in self.cache:
            self.cache["fx"] = self.f(self.x)
        return self.cache["fx"]

    @property
    def fb(self) -> Any:
        if "fb" not in self.cache:
            self.cache["fb"] = self.f(self.base)
        return self.cache["fb"]

    def rng(self, row: int, probe: str) -> np.random.Generator:
        """The generator of one sample for one probe: the same whatever the batching."""
        key = zlib.crc32(probe.encode())
        return np.random.default_rng([self.seed, key, int(self.index[row])])

    def normals(self, probe: str, shape: tuple[int, ...]) -> Any:
        """``(n, *shape)`` standard normals, each sample's from its own generator."""
        import torch

        z = np.stack([self.rng(i, probe).standard_normal(shape, dtype=np.float32)
                      for i in range(self.x.shape[0])])
        return torch.from_numpy(z).to(self.x.device)

    def uniforms(self, probe: str, shape: tuple[int, ...]) -> Any:
        import torch

        u = np.stack([self.rng(i, probe).random(shape, dtype=np.float32)
                      for i in range(self.x.shape[0])])
        return torch.from_numpy(u).to(self.x.device)

    def need_method(self, probe: str) -> Callable[..., Any]:
        if self.explain is None:
            raise CannotRerun(probe)
        return self.explain


def positive_count(name: str, value: Any, least: int = 1) -> None:
    """Raise unless ``value`` is a whole number ≥ ``least`` (a probe's count parameter)."""
    if not (isinstance(value, int | np.integer) and not isinstance(value, bool)
            and value >= least):
        raise ValueError(f"{name} must be a whole number of at least {least}, got {value!r}")


class CannotRerun(Exception):
    """A probe needs to re-run the method of a map no registered method made."""


class NotApplicable(Exception):
    """A probe does not apply to this model (e.g. random_output to a one-output model)."""


def rowsum(t: Any) -> Any:
    """Sum over the last axis in float64, row by row in numpy (pairwise per row): torch's
    reduction kernels may group a small last axis across rows, so a row's rounding would
    depend on how many rows share the batch; results must not depend on chunking."""
    import torch

    arr = t.detach().cpu().double().numpy() if hasattr(t, "detach") else np.asarray(t, float)
    return torch.from_numpy(np.asarray(np.ascontiguousarray(arr).sum(-1)))


def rowmean(t: Any) -> Any:
    return rowsum(t) / t.shape[-1]


def pearson_rows(u: Any, v: Any) -> Any:
    """Pearson correlation along the last axis (NaN where either is constant)."""
    import torch

    u0 = u.detach().cpu().double()
    v0 = v.detach().cpu().double()
    u = u0 - rowmean(u0)[..., None]
    v = v0 - rowmean(v0)[..., None]
    su, sv = rowsum(u * u), rowsum(v * v)
    # a constant row leaves rounding residue after centring: that is zero variance
    ok = (su > 1e-24 * rowsum(u0 * u0)) & (sv > 1e-24 * rowsum(v0 * v0)) & (su > 0) & (sv > 0)
    den = torch.sqrt(su * sv)
    return torch.where(ok, rowsum(u * v) / torch.where(ok, den, 1.0),
                       torch.full_like(den, float("nan")))


def _ranks(v: Any) -> Any:
    """Average ranks along the last axis (ties share their mean rank, as scipy's)."""
    import torch
    from scipy.stats import rankdata

    r = rankdata(v.detach().cpu().double().numpy(), axis=-1)
    return torch.from_numpy(np.ascontiguousarray(r)).to(v.device)


def spearman_rows(u: Any, v: Any) -> Any:
    """Spearman correlation along the last axis."""
    return pearson_rows(_ranks(u), _ranks(v))


def weighted_norm(v: Any, w: Any) -> Any:
    """Area-weighted L2 norm along the last axis: sqrt(Σ w v²)."""
    return rowsum((v.detach().cpu().double() ** 2) * w.detach().cpu().double()).sqrt()


def area_gini(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Gini coefficient of |a| with cells weighted by area (last axis).

    The Lorenz curve runs over cumulative *area* (x) and cumulative mass w·|a| (y), cells
    sorted by density |a|: a constant map lies on the diagonal (0) whatever the cell areas,
    one non-zero cell gives 1 − its area share (→ 1 on fine grids). With equal areas it is
    the usual Gini of Hurley & Rickard (2009) up to the factor n/(n−1).
    """
    v = np.abs(np.asarray(a))
    order = np.argsort(v, axis=-1)  # in the maps' own precision: the same order
    vs = np.take_along_axis(v, order, -1).astype(np.float64)
    w = np.asarray(w, float)
    ws = w[order] if w.ndim == 1 else np.take_along_axis(np.broadcast_to(w, v.shape), order, -1)
    vs *= ws  # each cell's mass w·|a|, in order of density
    y = np.cumsum(vs, -1)
    total = y[..., -1].copy()
    y -= vs / 2  # the trapezoid's mid-height (yᵢ + yᵢ₋₁)/2, unnormalised
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.einsum("...i,...i->...", y, ws) / (total * ws.sum(-1))
    return np.where(total > 0, 1.0 - 2.0 * auc, np.nan)


def area_entropy(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Shannon entropy (natural log) of the area-weighted share p = w|a| / Σ w|a|.

    As H = log T − Σ m log m / T with m = w|a| and T = Σ m (one pass of x·log x, 0 at 0;
    the same value as −Σ p log p up to rounding, without the share array)."""
    from scipy.special import xlogy

    m = np.abs(np.asarray(a, float))
    with np.errstate(invalid="ignore"):  # H is scale-free: over the row's largest |a|,
        top = m.max(-1, keepdims=True)   # tiny maps stay clear of subnormals
    m *= np.asarray(w, float) / np.where(top > 0, top, 1.0)
    total = m.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.log(total) - xlogy(m, m).sum(-1) / total
    # ≥ 0: a one-cell map's rounding must not read as a negative entropy
    return np.where(total > 0, np.maximum(h, 0.0), np.nan)


def gtfree_metric_names(metrics: Any, outputs: list[str]) -> list[str]:
    """``metrics=`` of :func:`~xattrib.evaluate` and :func:`~xattrib.audit` as registered
    names: one name or a list (never a string's letters), default all. Metrics that compare
    the explanations of several outputs are dropped from the default for a model of one
    output (``outputs``), and refused when named."""
    if metrics is not None and not isinstance(metrics, str) and not (
            isinstance(metrics, list | tuple) and all(isinstance(m, str) for m in metrics)):
        raise TypeError("metrics must be a GT-free metric's name or a list of names, e.g. "
                        f"metrics=['faithfulness_correlation', 'mprt']; got {metrics!r}")
    names = [metrics] if isinstance(metrics, str) else (
        list(metrics) if metrics is not None else GTFREE_METRICS.names())
    if not names:
        raise ValueError("metrics is empty; name at least one (xattrib list gtfree-metrics)")
    for name in names:
        if name not in GTFREE_METRICS and name in TRUTH_METRICS:
            raise ValueError(
                f"metrics: {name!r} is a truth metric (it needs the exact truth): "
                "xattrib.score(heat, truth, metrics=...) computes it; this verb takes GT-free "
                f"metrics: {', '.join(GTFREE_METRICS.names())}")
        GTFREE_METRICS.get(name, what="metric")
    if len(set(names)) != len(names):
        raise ValueError(f"metrics has duplicates: {names}")
    few = [n for n in names if GTFREE_METRICS.get(n).min_outputs > len(outputs)]
    if few and metrics is not None:
        raise ValueError(f"{few} compare the explanations of a model's outputs; this model has "
                         f"one output ({outputs[0]!r}): drop them")
    return [n for n in names if n not in few]
