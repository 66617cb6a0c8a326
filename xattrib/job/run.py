"""The main job: generate → fit → attribute → score → figures → report, in one call.

:func:`run_benchmark` is what ``xattrib benchmark`` runs; it is a plain function so a
notebook or a workflow manager can call it too. Every file is written atomically.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import io, parallel, plots
from ..datasets import check_field, lagged, open_field, pacific_sst
from ..dims import INPUT_VARIABLE_DIM, METHOD_DIM
from ..generation import benchmark, input_variables
from ..grid import make_grid
from ..responses import RESPONSES
from ..scoring import null_attributions, score, score_kinds, skill_map, summarize
from ..training import Model, fit
from .report import PERTURBATION_GROUPS, method_settings, render_report

__all__ = ["JobConfig", "run_benchmark"]


#: test samples explained on the exact F by default (fewer when there are fewer test samples)
EXACT_SAMPLES = 200
#: test samples of the job's audit of GT-free metrics (fewer when there are fewer)
GTFREE_SAMPLES = 100
#: ... and at most this many cell-samples by default: the audit's forward passes grow with
#: the cells (100 samples take about a minute on the 450-cell SST, they would take an hour
#: at 1°, where the default becomes 4 samples)
GTFREE_CELL_SAMPLES = 200_000
#: the job keeps the benchmark in memory up to this size (the bundled SST's 20,000 samples
#: take 90 MB); above it, chunks are drawn again where they are used (the same numbers)
PERSIST_BYTES = 2 * 2**30
#: the job's affordable subset of GT-free metrics (xattrib audit runs them all)
GTFREE_METRICS = ("faithfulness_correlation", "monotonicity_correlation", "deletion_gap",
                  "road_gap", "avg_sensitivity", "mprt", "sparseness", "complexity")


def default_methods() -> list[str]:
    """The methods the job runs unless told otherwise: every registered method marked
    ``in_main_job`` (all affordable ones), in the registry's order."""
    from ..methods import METHODS

    return [name for name, m in METHODS.items() if m.in_main_job]


@dataclass
class JobConfig:
    """Settings of the main job (also the keys of a ``--config`` TOML file)."""

    samples: int = 20_000          # benchmark size; the last half validates, the test set
    test_samples: int = 1_000      # is the last `test_samples` of them (never trained on)
    seed: int = 0
    methods: list[str] = field(default_factory=lambda: default_methods())
    baseline: str = "zero"
    response: str = "pwl"
    grid: str | None = None        # None: the bundled Pacific SST; "global": parametric
    resolution: float = 10.0
    data: str | None = None        # a user's netCDF file or zarr store of anomalies
    var: list[str] | None = None   # its variables (several: one joint source)
    sample_dim: str | None = None  # its sample dimension, if not the one non-spatial dim
    lags: list[int] | None = None  # the field at these steps back, as variables
    length_scale_km: float | None = None
    # training: None means fit's own defaults (xattrib.training.FRESH_RECIPE: 16 epochs of
    # 1M fresh samples, a new pool every 4, batch 1024, lr 2e-3, stop at R² 0.995)
    epochs: int | None = None
    samples_per_epoch: int | None = None
    fresh_every: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    hidden: list[int] | None = None
    scheduler: str | None = None   # None: threads; "local": LocalCluster; or an address
    device: str | None = None
    chunks: int = 10_000
    weights: str | None = "area"
    exact_samples: int | None = None  # test samples also explained on the exact F (0: none;
    #                                   default min(200, test_samples): it follows that flag)
    gtfree_samples: int | None = None  # test samples of the GT-free metrics' audit (0: none;
    #                                    default min(100, test_samples, 200,000 / cells))
    #                                    default min(100, test_samples))

    def __post_init__(self) -> None:
        if self.exact_samples is None and isinstance(self.test_samples, int):
            self.exact_samples = min(EXACT_SAMPLES, self.test_samples)
        self._gtfree_default = self.gtfree_samples is None
        if self.gtfree_samples is None and isinstance(self.test_samples, int):
            self.gtfree_samples = min(GTFREE_SAMPLES, self.test_samples)

    def validate(self) -> None:
        _check_types(self)
        if self.exact_samples is None or not 0 <= self.exact_samples <= self.test_samples:
            raise ValueError(f"exact_samples must be between 0 and test_samples "
                             f"({self.test_samples}); got {self.exact_samples}")
        if self.gtfree_samples is None or not (
                self.gtfree_samples == 0 or 2 <= self.gtfree_samples <= self.test_samples):
            raise ValueError(f"gtfree_samples must be 0 or between 2 and test_samples "
                             f"({self.test_samples}); got {self.gtfree_samples}")
        if self.test_samples < 10 or self.test_samples * 2 > self.samples:
            raise ValueError(f"test_samples must be at least 10 and at most half of samples "
                             f"({self.samples}); got {self.test_samples}")
        if self.grid not in (None, "global", "pacific_sst"):
            raise ValueError(f"grid must be 'global' or 'pacific_sst', got {self.grid!r}")
        if self.lags is not None and (self.grid is not None or len(self.var or []) > 1):
            raise ValueError("lags make variables of one field's past: use them with the "
                             "bundled SST or one --var of --data, not with --grid or several "
                             "--var")
        if self.var is not None and len(set(self.var)) != len(self.var):
            raise ValueError(f"var repeats a variable: {self.var}; name each once")
        check_data(self)

        if self.response in RESPONSES and not RESPONSES.get(self.response).additive \
                and self.baseline != "zero":
            raise ValueError(f"response {self.response!r} has interactions: its exact "
                             "attributions are relative to one baseline input, so the job "
                             "needs baseline 'zero' (an expectation has no closed form)")
        if self.baseline not in ("zero", "expectation"):
            raise ValueError(f"baseline must be 'zero' or 'expectation' for the job, got "
                             f"{self.baseline!r}")
        from ..methods.base import get_method

        for m in self.methods:
            get_method(m)


_TYPES = {"int": (int,), "float": (int, float), "str": (str,),
          "list[str]": (list,), "list[int]": (list,)}
_SAY = {"int": "a whole number", "float": "a number", "str": "a string",
        "list[str]": "a list of strings", "list[int]": "a list of whole numbers"}


def _check_types(cfg: JobConfig) -> None:
    """Each setting has its declared type (a config file can hold anything)."""
    from dataclasses import fields

    for f in fields(cfg):
        v = getattr(cfg, f.name)
        spec = str(f.type).replace(" ", "")
        optional = spec.endswith("|None")
        base = spec.removesuffix("|None")
        if v is None and optional:
            continue
        ok = _TYPES.get(base)
        if ok is None:
            continue
        item = int if base == "list[int]" else str
        if isinstance(v, bool) or not isinstance(v, ok) or (isinstance(v, list) and not all(
                isinstance(e, item) and not isinstance(e, bool) for e in v)):
            raise TypeError(f"{f.name} must be {_SAY[base]}"
                            f"{' or absent' if optional else ''}, got {v!r}")


class _Log:
    def __init__(self, quiet: bool) -> None:
        self.quiet, self.t0 = quiet, time.perf_counter()
        self.steps: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self(f"{name} ...")
        t = time.perf_counter()
        yield
        self.steps[name] = time.perf_counter() - t
        self(f"{name} done in {self.steps[name]:.1f} s")

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(f"[xattrib {time.perf_counter() - self.t0:6.1f}s] {msg}", file=sys.stderr,
                  flush=True)


def check_data(cfg: Any) -> None:
    """Before anything runs: ``cfg.data`` can be read and holds each ``cfg.var`` (metadata
    only), so a typo costs a second and one line, not a traceback minutes in."""
    data, var = getattr(cfg, "data", None), getattr(cfg, "var", None)
    if data is not None and cfg.grid is not None:
        raise ValueError("data and grid exclude each other: data is your own file of "
                         "anomalies, grid a parametric covariance on a generated grid")
    if data is None:
        if var or getattr(cfg, "sample_dim", None):
            raise ValueError("var and sample_dim describe a data file: pass data= (--data "
                             "FILE) too")
        return
    for v in var or [None]:
        check_field(data, v)


def _source(cfg: JobConfig) -> Any:
    field = _field(cfg)
    lags = getattr(cfg, "lags", None)
    if lags:
        return lagged(field, lags, sample_dim=getattr(cfg, "sample_dim", None))
    return field


def _field(cfg: JobConfig) -> Any:
    data, var = getattr(cfg, "data", None), getattr(cfg, "var", None)  # AuditConfig has none
    if data is not None and var and len(var) > 1:  # one joint source of several variables
        fields = [open_field(data, v) for v in var]
        try:
            return xr.merge(fields, join="exact", combine_attrs="drop_conflicts")
        except ValueError:
            raise ValueError(f"the variables {var} of {data} are not on one grid and sample "
                             "axis; regrid or select them to match first") from None
    if data is not None:
        return open_field(data, var[0] if var else None)
    if cfg.grid == "global":
        return make_grid(resolution=cfg.resolution, mask="ocean")
    return pacific_sst()


def check_out(out: str | Path, overwrite: bool = False) -> Path:
    """``out`` as a folder the job may write into: absent, empty, or ``overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {str(out)!r} is a file; give a folder for the job's outputs")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"out folder {str(out)!r} is not empty; choose another folder "
                              "or pass --overwrite (overwrite=True) to replace its files")
    return out


def _publish(stage: Path, out: Path) -> None:
    """Move the finished files into ``out``, ``report.md`` last: a folder with a report
    holds a complete run."""
    out.mkdir(parents=True, exist_ok=True)
    for name in sorted((p.name for p in stage.iterdir()), key=lambda n: (n == "report.md", n)):
        os.replace(stage / name, out / name)


def run_benchmark(out: str | Path, config: JobConfig | None = None, quiet: bool = False,
                  command: str | None = None, overwrite: bool = False) -> dict[str, Path]:
    """Run the whole benchmark and write its files into ``out``; return their paths.

    Files: ``benchmark.nc``, ``attributions.nc``, ``scores.nc`` (CF-1.8), ``model.nc``,
    ``maps.png``, ``histograms.png``, ``skill.png`` and ``report.md``. They are written
    into a hidden folder beside ``out`` and moved into ``out`` only when all are done, so
    an interrupted or failed run leaves ``out`` as it was. ``out`` must be absent or empty
    unless ``overwrite`` (then files of the same name are replaced).
    """
    cfg = config or JobConfig()
    cfg.validate()
    final = check_out(out, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        paths = _run(stage, cfg, quiet, command)
        _publish(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {k: final / p.name for k, p in paths.items()}


def _run(out: Path, cfg: JobConfig, quiet: bool, command: str | None) -> dict[str, Path]:
    import torch

    log = _Log(quiet)
    torch.manual_seed(cfg.seed)
    with parallel.client(cfg.scheduler) as client:
        if client is not None:
            log(f"dask scheduler: {client.scheduler.address}")
        with log.step("generate benchmark"):
            bench = _generate(cfg, quiet)
        if getattr(cfg, "_gtfree_default", False) and cfg.gtfree_samples:
            d = int(bench["mask"].sum()) * max(1, len(input_variables(bench)))
            cfg.gtfree_samples = min(cfg.gtfree_samples, max(2, GTFREE_CELL_SAMPLES // d))
        with log.step("fit network"):
            model = _fit(bench, cfg, quiet)
            log(f"validation R2 {model.r2:.4f} (linear regression {model.linear_r2:.4f})")
        test = bench.isel(sample=slice(cfg.samples - cfg.test_samples, None))
        usable, skipped = _usable_methods(cfg)
        if skipped:
            log(f"skipping {skipped}: they cannot use baseline {cfg.baseline!r}")
        with log.step(f"attribute {len(usable)} methods on {cfg.test_samples} test samples"):
            heat = _attribute(test, model, usable, cfg, quiet)
        exact_table, exact_kinds = None, None
        exact_left_out: list[str] = []
        if cfg.exact_samples:
            with log.step(f"attribute on the exact F ({cfg.exact_samples} test samples)"):
                exact_table, exact_kinds, exact_left_out = _exact_summary(
                    bench, test, usable, cfg, quiet)
        with log.step("score"):
            scores, nulls, table, skill, kinds = _score(heat, test, cfg)
        trust = None
        if cfg.gtfree_samples:
            with log.step(f"GT-free metrics against the truth ({cfg.gtfree_samples} samples)"):
                trust = _audit(test, heat, model, cfg)
        with log.step("write files"):
            paths = _write(out, bench, test, heat, model, scores, nulls, table, skill,
                           exact_table, (kinds, exact_kinds))
            if trust is not None:
                paths["audit"] = io.to_netcdf(trust, out / "audit.nc",
                                              title=trust.attrs["title"])
            report = render_report(cfg, model, table, log.steps, command, skipped, exact_table,
                                   trust, (kinds, exact_kinds), exact_left_out,
                                   method_settings(heat))
            tmp = out / ".report.md.tmp"
            tmp.write_text(report)
            tmp.replace(out / "report.md")
            paths["report"] = out / "report.md"
    log("done: report.md written")
    return paths


def _generate(cfg: JobConfig, quiet: bool) -> xr.Dataset:
    cov = {"length_scale_km": cfg.length_scale_km} if cfg.length_scale_km else None
    bench = benchmark(_source(cfg), n_samples=cfg.samples, seed=cfg.seed, chunks=cfg.chunks,
                      response=cfg.response, baseline=cfg.baseline, covariance=cov,
                      sample_dim=cfg.sample_dim)
    if bench.nbytes > PERSIST_BYTES:  # 1°: 20,000 samples are 10 GB; draw them when used
        return bench
    return parallel.persist(bench, progress=not quiet)


def _fit(bench: xr.Dataset, cfg: JobConfig, quiet: bool) -> Model:
    kw: dict[str, Any] = {"hidden": tuple(cfg.hidden)} if cfg.hidden else {}
    kw.update({k: getattr(cfg, k) for k in ("epochs", "samples_per_epoch", "fresh_every",
                                            "batch_size", "lr")
               if getattr(cfg, k) is not None})  # else fit's defaults
    return fit(bench, fresh=True, seed=cfg.seed, device=cfg.device, progress=not quiet, **kw)


def _usable_methods(cfg: JobConfig) -> tuple[list[str], list[str]]:
    """(methods to run, methods skipped): an expectation truth is a background
    distribution, which one-baseline methods cannot use."""
    from ..methods import get_method  # torch and captum

    usable = [m for m in cfg.methods if not (
        cfg.baseline == "expectation" and get_method(m).baseline == "single")]
    return usable, sorted(set(cfg.methods) - set(usable))


def _attribute(test: xr.Dataset, model: Model, usable: list[str], cfg: JobConfig,
               quiet: bool) -> xr.Dataset:
    from ..attribution import attribute  # torch and captum

    heat = attribute(test, model, methods=usable, baseline=cfg.baseline, device=cfg.device,
                     progress=not quiet, seed=cfg.seed, **_patch_params(usable, test))
    heat, = parallel.compute(heat, progress=not quiet)
    return heat


def _patch_params(methods: list[str], ds: xr.Dataset) -> dict[str, Any]:
    """``{method: {"patch": p}}`` for the methods with a patch, p × p cells per group so
    that about :data:`PERTURBATION_GROUPS` groups cover the valid cells (none below)."""
    from ..methods import get_method

    d = int(ds["mask"].sum())
    p = int(np.ceil(np.sqrt(d / PERTURBATION_GROUPS)))
    out: dict[str, Any] = {}
    for name in methods:
        m = get_method(name)
        if "patch" in m.defaults and p > int(m.defaults["patch"]):
            out[name] = {"patch": p}
    return out


def _exact_summary(bench: xr.Dataset, test: xr.Dataset, usable: list[str], cfg: JobConfig,
                   quiet: bool) -> tuple[xr.Dataset, xr.Dataset | None, list[str]]:
    """The same methods on the true F: each method's own error, free of the network's.

    Returns (summary, summary against each kind of truth or None, methods left out). An
    interacting F has product and gate modules, on which LRP (rules on layers) cannot run."""
    from ..attribution import attribute  # torch and captum
    from ..methods import get_method

    sub = test.isel(sample=slice(0, cfg.exact_samples))
    left_out = [] if not _interacting(bench) else [m for m in usable
                                            if not get_method(m).transformable]
    run = [m for m in usable if m not in left_out]
    heat_f = attribute(sub, Model.exact(bench), methods=run, baseline=cfg.baseline,
                       device=cfg.device, progress=not quiet, seed=cfg.seed,
                       **_patch_params(run, sub)).compute()
    scores_f = score(heat_f, sub, weights=cfg.weights).compute()
    by_kind = None
    if _interacting(bench):
        by_kind = summarize(score_kinds(heat_f, sub, weights=cfg.weights).compute(),
                            seed=cfg.seed)
    return summarize(scores_f, seed=cfg.seed), by_kind, left_out


def _audit(test: xr.Dataset, heat: xr.Dataset, model: Model, cfg: JobConfig
           ) -> xr.Dataset | None:
    """The affordable audit: :data:`GTFREE_METRICS` on the last test samples, for the
    methods that take one baseline input (the audit re-runs them), two seeds."""
    from ..evaluation import DEFAULT_AUDIT_METHODS, audit
    from ..methods import get_method

    # the audit's six diverse methods among the job's (re-running Shapley sampling or
    # DeepSHAP for every perturbation would cost more than the rest of the job)
    usable = [str(m) for m in heat[METHOD_DIM].values
              if get_method(str(m)).baseline != "distribution"
              and str(m) in DEFAULT_AUDIT_METHODS]
    if len(usable) < 3:  # nothing to rank
        return None
    return audit(test, model, methods=usable, metrics=list(GTFREE_METRICS),
                 n_samples=int(cfg.gtfree_samples or 0), seeds=2, seed=cfg.seed,
                 device=cfg.device, heat=heat, avg_sensitivity={"n_samples": 5})


def _score(heat: xr.Dataset, test: xr.Dataset, cfg: JobConfig
           ) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset, xr.DataArray, xr.Dataset | None]:
    """Per-sample scores, the null explanations' scores, their summary, the skill map and,
    for an interacting benchmark, the summary against each kind of truth."""
    scores = score(heat, test, weights=cfg.weights).compute()
    nulls = score(null_attributions(test, seed=cfg.seed), test,
                  weights=cfg.weights).compute()
    table = summarize(xr.concat([scores, nulls], METHOD_DIM), seed=cfg.seed)
    skill = skill_map(heat, test).compute()
    by_kind = None
    if _interacting(test):
        by_kind = summarize(score_kinds(heat, test, weights=cfg.weights).compute(),
                            seed=cfg.seed)
    return scores, nulls, table, skill, by_kind


def _write(out: Path, bench: xr.Dataset, test: xr.Dataset, heat: xr.Dataset, model: Model,
           scores: xr.Dataset, nulls: xr.Dataset, table: xr.Dataset, skill: xr.DataArray,
           exact_table: xr.Dataset | None,
           kinds: tuple[xr.Dataset | None, xr.Dataset | None] = (None, None)
           ) -> dict[str, Path]:
    """The four CF files and three figures (the report is written after them)."""
    paths = {
        "benchmark": io.to_netcdf(bench, out / "benchmark.nc",
                                  title="xattrib attribution benchmark"),
        "attributions": io.to_netcdf(heat, out / "attributions.nc",
                                     title="xattrib attribution heatmaps"),
    }
    sc = scores.copy()
    sc["skill"] = skill
    # outer join: summaries also cover the null explanations (no per-sample scores)
    parts = [sc, table.rename({v: f"summary_{v}" for v in table.data_vars})]
    if exact_table is not None:
        parts.append(exact_table.rename(
            {v: f"summary_exact_f_{v}" for v in exact_table.data_vars}))
    for prefix, by_kind in zip(("summary_by_kind_", "summary_exact_f_by_kind_"), kinds,
                               strict=True):
        if by_kind is not None:  # over (truth_kind, xai_method, statistic)
            parts.append(by_kind.rename({v: f"{prefix}{v}" for v in by_kind.data_vars}))
    sc = xr.merge(parts, combine_attrs="override", join="outer")
    paths["scores"] = io.to_netcdf(sc, out / "scores.nc", title="xattrib scores")
    paths["model"] = model.save(out / "model.nc")
    every = xr.concat([scores, nulls], METHOD_DIM)
    names = input_variables(test)
    if not names:
        plots.close(plots.plot_maps(heat, test["truth"], path=out / "maps.png"),
                    plots.plot_skill(skill, path=out / "skill.png"))
        paths.update(maps=out / "maps.png", skill=out / "skill.png")
    for v in names:  # several variables: a truth and skill figure of each
        one = heat[[f"attribution_{v}"]].rename({f"attribution_{v}": "attribution"})
        plots.close(plots.plot_maps(one, test[f"truth_{v}"], path=out / f"maps_{v}.png"),
                    plots.plot_skill(skill.sel({INPUT_VARIABLE_DIM: v}),
                                     path=out / f"skill_{v}.png"))
        paths.update({f"maps_{v}": out / f"maps_{v}.png", f"skill_{v}": out / f"skill_{v}.png"})
    if INPUT_VARIABLE_DIM in every.dims:  # the histogram of all variables' cells together
        every = every.sel({INPUT_VARIABLE_DIM: "all"}, drop=True)
    plots.close(plots.plot_histograms(every, path=out / "histograms.png"))
    paths["histograms"] = out / "histograms.png"
    return paths


def _interacting(bench: xr.Dataset) -> bool:
    """Whether the benchmark has several kinds of truth (an interacting response)."""
    return bool(bench.attrs.get("xattrib_truth_kinds"))
