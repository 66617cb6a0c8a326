"""``xattrib audit``: the full audit of GT-free metrics on a benchmark, from the shell.

:func:`run_audit` builds the benchmark (the bundled real Pacific SST covariance by default),
audits every GT-free metric on the exact response (``Model.exact``: the methods' own
errors) and on a trained network (fit's defaults, or a saved model file), and writes
``audit_<model>.nc``, ``trust_<model>.png`` and one ``trust.md`` with both tables.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import io, plots
from ..generation import benchmark
from ..gtfree_metrics import GTFREE_METRICS
from ..training import Model, fit
from .run import _source, check_data, check_out

__all__ = ["AuditConfig", "run_audit"]


@dataclass
class AuditConfig:
    """The audit's settings (``xattrib audit`` flags)."""

    samples: int = 20_000          # benchmark samples (the audit uses the last audit_samples)
    audit_samples: int = 100
    seed: int = 0
    seeds: int = 3
    models: tuple[str, ...] = ("exact", "trained")
    model_file: str | None = None  # a saved model for "trained" (instead of fitting one)
    trusted: list[str] | None = None  # factories the model file may be rebuilt with
    data: str | None = None        # a user's netCDF file or zarr store of anomalies
    var: list[str] | None = None   # its variables (several: one joint source)
    sample_dim: str | None = None  # its sample dimension, if not the one non-spatial dim
    methods: list[str] | None = None
    metrics: list[str] | None = None
    grid: str | None = None
    resolution: float = 10.0
    length_scale_km: float | None = None
    response: str = "pwl"
    epochs: int | None = None
    samples_per_epoch: int | None = None
    device: str | None = None

    def validate(self) -> None:
        for m in self.models:
            if m not in ("exact", "trained"):
                raise ValueError(f"models must be 'exact' and/or 'trained', got {m!r}")
        if not 2 <= self.audit_samples <= self.samples // 2:
            raise ValueError(f"audit_samples must be between 2 and half of samples "
                             f"({self.samples // 2}); got {self.audit_samples}")
        if self.seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {self.seeds}")
        if self.trusted and not self.model_file:
            raise ValueError("trusted approves the factory of a model file: pass model_file= "
                             "(--model-file FILE) too")
        if self.model_file is not None and not Path(self.model_file).exists():
            raise FileNotFoundError(f"model file {self.model_file!r} does not exist")
        check_data(self)
        from ..methods import get_method  # torch and captum

        for m in self.metrics or ():
            GTFREE_METRICS.get(m, what="metric")
        for m in self.methods or ():
            get_method(m)


def run_audit(out: str | Path, config: AuditConfig | None = None, quiet: bool = False,
              overwrite: bool = False) -> dict[str, Path]:
    """Audit the GT-free metrics and write the files into ``out`` (atomically: a hidden
    folder moved into place when everything is written)."""
    from ..evaluation import audit, category_skill_table

    cfg = config or AuditConfig()
    cfg.validate()
    final = check_out(out, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))

    def say(msg: str) -> None:
        if not quiet:
            print(f"xattrib audit: {msg}", flush=True)

    try:
        cov = {"length_scale_km": cfg.length_scale_km} if cfg.length_scale_km else None
        bench = benchmark(_source(cfg), n_samples=cfg.samples, seed=cfg.seed,  # type: ignore[arg-type]
                          response=cfg.response, covariance=cov, sample_dim=cfg.sample_dim)
        tables, paths = [], {}
        for kind in cfg.models:
            t0 = time.perf_counter()
            model = _model(kind, bench, cfg, quiet)
            say(f"auditing on the {kind} model ({cfg.audit_samples} samples)")
            result = audit(bench, model, methods=cfg.methods, metrics=cfg.metrics,
                           n_samples=cfg.audit_samples, seeds=cfg.seeds, seed=cfg.seed,
                           device=cfg.device, progress=not quiet)
            paths[f"audit_{kind}"] = io.to_netcdf(result, stage / f"audit_{kind}.nc",
                                                  title=result.attrs["title"])
            plots.close(plots.plot_trust(result, path=stage / f"trust_{kind}.png"))
            paths[f"trust_{kind}"] = stage / f"trust_{kind}.png"
            tables.append(f"## {kind} model\n\n{result.attrs['trust_table']}\n"
                          "Skill scores by category (mean over the category's metrics with a "
                          "skill score; 1 = ideal, 0 = a white-noise map):\n\n"
                          f"{category_skill_table(result)}\n"
                          f"Took {time.perf_counter() - t0:.0f} s.\n")
            say(f"{kind} model done in {time.perf_counter() - t0:.0f} s")
        text = ("# Which GT-free metric tracks the truth\n\n"
                f"Configuration: `{asdict(cfg)}`\n\n" + "\n".join(tables))
        (stage / "trust.md").write_text(text)
        paths["trust"] = stage / "trust.md"
        final.mkdir(parents=True, exist_ok=True)
        for name in sorted(p.name for p in stage.iterdir()):
            os.replace(stage / name, final / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {k: final / p.name for k, p in paths.items()}


def _model(kind: str, bench: Any, cfg: AuditConfig, quiet: bool) -> Model:
    if kind == "exact":
        return Model.exact(bench)
    if cfg.model_file:
        return Model.load(cfg.model_file, trusted=tuple(cfg.trusted or ()))
    kw = {k: getattr(cfg, k) for k in ("epochs", "samples_per_epoch")
          if getattr(cfg, k) is not None}
    return fit(bench, seed=cfg.seed, device=cfg.device, progress=not quiet, **kw)
