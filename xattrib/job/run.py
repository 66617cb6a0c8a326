"""The main job: generate → fit → attribute → score → figures → report, in one call.

:func:`run_benchmark` is what ``xattrib benchmark`` runs; it is a plain function so a
notebook or a workflow manager can call it too. Every file is written atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import io, parallel, plots
from ..datasets import pacific_sst
from ..dims import METHOD_DIM
from ..generation import benchmark
from ..grid import make_grid
from ..io import versions
from ..scoring import null_attributions, score, skill_map, summarize
from ..training import Model, fit

__all__ = ["JobConfig", "run_benchmark"]


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
    exact_samples: int = 200       # test samples also explained on the exact F (0: none)

    def validate(self) -> None:
        _check_types(self)
        if not 0 <= self.exact_samples <= self.test_samples:
            raise ValueError(f"exact_samples must be between 0 and test_samples "
                             f"({self.test_samples}); got {self.exact_samples}")
        if self.test_samples < 10 or self.test_samples * 2 > self.samples:
            raise ValueError(f"test_samples must be at least 10 and at most half of samples "
                             f"({self.samples}); got {self.test_samples}")
        if self.grid not in (None, "global", "pacific_sst"):
            raise ValueError(f"grid must be 'global' or 'pacific_sst', got {self.grid!r}")
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


def _source(cfg: JobConfig) -> Any:
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

    from ..attribution.heatmaps import attribute
    from ..methods.base import get_method

    log = _Log(quiet)
    torch.manual_seed(cfg.seed)
    paths: dict[str, Path] = {}
    with parallel.client(cfg.scheduler) as client:
        if client is not None:
            log(f"dask scheduler: {client.scheduler.address}")
        with log.step("generate benchmark"):
            cov = {"length_scale_km": cfg.length_scale_km} if cfg.length_scale_km else None
            bench = benchmark(_source(cfg), n_samples=cfg.samples, seed=cfg.seed,
                              chunks=cfg.chunks, response=cfg.response, baseline=cfg.baseline,
                              covariance=cov)
            bench = parallel.persist(bench, progress=not quiet)
        with log.step("fit network"):
            kw: dict[str, Any] = {"hidden": tuple(cfg.hidden)} if cfg.hidden else {}
            kw.update({k: getattr(cfg, k) for k in ("epochs", "samples_per_epoch",
                                                    "fresh_every", "batch_size", "lr")
                       if getattr(cfg, k) is not None})  # else fit's defaults
            model = fit(bench, fresh=True, seed=cfg.seed, device=cfg.device,
                        progress=not quiet, **kw)
            log(f"validation R2 {model.r2:.4f} (linear regression {model.linear_r2:.4f})")
        test = bench.isel(sample=slice(cfg.samples - cfg.test_samples, None))
        # an expectation truth is a background distribution: one-baseline methods can't use it
        usable = [m for m in cfg.methods if not (
            cfg.baseline == "expectation" and get_method(m).baseline == "single")]
        skipped = sorted(set(cfg.methods) - set(usable))
        if skipped:
            log(f"skipping {skipped}: they cannot use baseline {cfg.baseline!r}")
        with log.step(f"attribute {len(usable)} methods on {cfg.test_samples} test samples"):
            heat = attribute(test, model, methods=usable, baseline=cfg.baseline,
                             device=cfg.device, progress=not quiet, seed=cfg.seed)
            heat, = parallel.compute(heat, progress=not quiet)
        exact_table = None
        if cfg.exact_samples:
            # the same methods on the true F: each method's own error, free of the network's
            with log.step(f"attribute on the exact F ({cfg.exact_samples} test samples)"):
                sub = test.isel(sample=slice(0, cfg.exact_samples))
                heat_f = attribute(sub, Model.exact(bench), methods=usable,
                                   baseline=cfg.baseline, device=cfg.device, progress=not quiet,
                                   seed=cfg.seed).compute()
                scores_f = score(heat_f, sub["truth"], weights=cfg.weights).compute()
                exact_table = summarize(scores_f, seed=cfg.seed)
        with log.step("score"):
            scores = score(heat, test["truth"], weights=cfg.weights).compute()
            nulls = score(null_attributions(test, seed=cfg.seed), test["truth"],
                          weights=cfg.weights).compute()
            table = summarize(xr.concat([scores, nulls], METHOD_DIM), seed=cfg.seed)
            skill = skill_map(heat, test["truth"]).compute()
        with log.step("write files"):
            paths["benchmark"] = io.to_netcdf(bench, out / "benchmark.nc",
                                              title="xattrib attribution benchmark")
            paths["attributions"] = io.to_netcdf(heat, out / "attributions.nc",
                                                 title="xattrib attribution heatmaps")
            sc = scores.copy()
            sc["skill"] = skill
            # outer join: summaries also cover the null explanations (no per-sample scores)
            parts = [sc, table.rename({v: f"summary_{v}" for v in table.data_vars})]
            if exact_table is not None:
                parts.append(exact_table.rename(
                    {v: f"summary_exact_f_{v}" for v in exact_table.data_vars}))
            sc = xr.merge(parts, combine_attrs="override", join="outer")
            paths["scores"] = io.to_netcdf(sc, out / "scores.nc", title="xattrib scores")
            paths["model"] = model.save(out / "model.nc")
            plots.plot_maps(heat, test["truth"], path=out / "maps.png")
            plots.plot_histograms(xr.concat([scores, nulls], METHOD_DIM),
                                  path=out / "histograms.png")
            plots.plot_skill(skill, path=out / "skill.png")
            for k in ("maps", "histograms", "skill"):
                paths[k] = out / f"{k}.png"
            report = _report(cfg, model, table, log, command, skipped, exact_table)
            tmp = out / ".report.md.tmp"
            tmp.write_text(report)
            tmp.replace(out / "report.md")
            paths["report"] = out / "report.md"
    log("done: report.md written")
    return paths


def _fmt(v: float, digits: int = 2) -> str:
    return "–" if not np.isfinite(v) else f"{v:.{digits}f}"


def score_table(table: xr.Dataset, exact: xr.Dataset | None = None) -> str:
    """A Markdown table of the per-method summary (mean Pearson with its 95 % interval...).

    With ``exact`` (the summary of the same methods on the exact F), a column with each
    method's mean Pearson r on the true function follows the network's."""
    cols = [("pearson", "Pearson r (mean [95% CI])"), ("spearman", "Spearman ρ"),
            ("cosine", "cosine"), ("sign_agreement", "sign agreement"), ("topk", "top-10% overlap"),
            ("nmae", "NMAE"), ("completeness", "completeness error")]
    cols = [c for c in cols if c[0] in table]
    head = [t for _, t in cols]
    if exact is not None:
        head.insert(1, "Pearson r on exact F")
    lines = ["| method | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for m in table[METHOD_DIM].values:
        cells = []
        for name, _ in cols:
            s = table[name].sel({METHOD_DIM: m})
            mean = float(s.sel(statistic="mean"))
            if name == "pearson":
                cells.append(f"{_fmt(mean)} [{_fmt(float(s.sel(statistic='mean_lo')))}, "
                             f"{_fmt(float(s.sel(statistic='mean_hi')))}]")
            elif name == "completeness":
                cells.append(f"{mean:.2e}" if np.isfinite(mean) else "–")
            else:
                cells.append(_fmt(mean))
            if name == "pearson" and exact is not None:
                known = m in exact[METHOD_DIM].values
                cells.append(_fmt(float(exact["pearson"].sel({METHOD_DIM: m}).sel(
                    statistic="mean"))) if known else "–")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _report(cfg: JobConfig, model: Any, table: xr.Dataset, log: _Log, command: str | None,
            skipped: list[str], exact: xr.Dataset | None = None) -> str:
    a = table.attrs
    gate = "passes" if model.r2 >= 0.99 else "FAILS (attributions are capped by model fidelity)"
    lines = [
        "# xattrib benchmark report", "",
        f"Command: `{command or 'xattrib.job.run_benchmark'}`", "",
        "## Model fidelity", "",
        f"- validation R² of the network: **{model.r2:.4f}** — the 0.99 gate {gate}",
        f"- validation R² of a linear regression (how nonlinear the benchmark is): "
        f"{model.linear_r2:.4f}",
        f"- trained on {model.provenance.get('fit_epochs_run')} epochs × "
        f"{model.provenance.get('fit_samples_per_epoch'):,} fresh samples (a new pool every "
        f"{model.provenance.get('fit_fresh_every')} epochs), batch "
        f"{model.provenance.get('fit_batch_size')}, lr {model.provenance.get('fit_lr')}; "
        f"stopped by {model.provenance.get('fit_stopped')} (fit's defaults unless set)",
        "- validation R² by epoch: " + ", ".join(
            f"{h['epoch']}: {h['val_r2']:.4f}" for h in model.history), "",
        "## Scores on held-out test samples", "",
        f"{cfg.test_samples} test samples; baseline `{cfg.baseline}` for the truth and the "
        f"methods; weights: {a.get('weights')}; positive-only convention: "
        f"{a.get('positive_only_convention')}. Null explanations (`null_*`) show what no "
        "skill looks like."
        + (f" *Pearson r on exact F*: the same method on the benchmark's true function "
           f"(`xattrib.Model.exact`, first {cfg.exact_samples} test samples), i.e. the "
           "method's own error without the network's." if exact is not None else ""), "",
        score_table(table, exact), "",
        *([f"Skipped (cannot use baseline `{cfg.baseline}`): {', '.join(skipped)}", ""]
          if skipped else []),
        "## Figures", "",
        "- `maps.png`: truth and every method for three test samples",
        "- `histograms.png`: per-sample Pearson r with the truth, per method",
        "- `skill.png`: per-cell correlation with the truth over the test samples", "",
        "## Provenance", "",
        f"- seed {cfg.seed}; response `{cfg.response}`; covariance "
        f"{a.get('xattrib_covariance_source')}",
        f"- versions: {', '.join(f'{k} {v}' for k, v in versions().items())}",
        f"- timings (s): {json.dumps({k: round(v, 1) for k, v in log.steps.items()})}",
        f"- configuration: `{json.dumps(asdict(cfg))}`", "",
    ]
    return "\n".join(lines)
