"""``xattrib advise``: the advice for a saved network and a data file, from the shell.

:func:`run_advise` loads the model file (its factory only if ``trusted``), reads the
variables it explains from the data file (as data: nothing the file names is imported),
runs :func:`xattrib.advise` and writes ``advice.nc`` (CF-1.8), ``heatmaps.nc`` (every method
on the user's data), ``report.md`` (the verdict first) and ``trust_<response>.png`` (the
audit of each response family), atomically: a hidden folder moved into place at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import io, plots
from ..datasets import check_field, open_field
from ..gtfree_metrics import GTFREE_METRICS
from ..training import Model
from .run import check_out

__all__ = ["AdviseConfig", "run_advise"]


@dataclass
class AdviseConfig:
    """The advice's settings (``xattrib advise`` flags)."""

    model_file: str                 # the user's saved network (Model.save)
    data: str                       # their inputs: a netCDF file or zarr store
    var: list[str] | None = None    # the variables the network reads (one: may be renamed)
    target: str | None = None       # what it predicts, one value per sample (optional)
    trusted: list[str] | None = None  # factories the model file may be rebuilt with
    n_train: int | None = None
    responses: list[str] | None = None
    members: int = 2
    methods: list[str] | None = None
    metrics: list[str] | None = None
    audit_samples: int = 40
    explain_samples: int = 100
    seeds: int = 2
    seed: int = 0
    epochs: int | None = None
    device: str | None = None

    def validate(self) -> None:
        """Everything that can be checked before anything runs (files, names, numbers)."""
        if not Path(self.model_file).exists():
            raise FileNotFoundError(f"model file {self.model_file!r} does not exist")
        for v in self.var or [None]:  # type: ignore[list-item]
            check_field(self.data, v)
        if self.target is not None:
            with io.open_dataset(self.data) as ds:
                if self.target not in ds:
                    raise ValueError(f"target {self.target!r} is not a variable of "
                                     f"{self.data!r} (it has {sorted(map(str, ds.data_vars))})")
        for m in self.metrics or ():
            GTFREE_METRICS.get(m, what="metric")
        from ..methods import get_method  # torch and captum

        for m in self.methods or ():
            get_method(m)


def _inputs(cfg: AdviseConfig, model: Model) -> Any:
    """The data the network reads: one variable (renamed to the network's own name when it
    reads one), or several by name."""
    names: list[str | None] = list(cfg.var) if cfg.var else [None]
    if len(names) == 1:
        return open_field(cfg.data, names[0]).rename(model.variables[0])
    return {v: open_field(cfg.data, v) for v in names}


def run_advise(out: str | Path, config: AdviseConfig, quiet: bool = False,
               overwrite: bool = False) -> dict[str, Path]:
    """Advise on ``config.model_file`` and ``config.data``; write the files into ``out``."""
    import xarray as xr

    from ..advice import DEFAULT_RESPONSES, advise

    cfg = config
    cfg.validate()
    final = check_out(out, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        model = Model.load(cfg.model_file, trusted=tuple(cfg.trusted or ()))
        data = _inputs(cfg, model)
        data = xr.Dataset(data) if isinstance(data, dict) else data
        target = None
        if cfg.target is not None:
            with io.open_dataset(cfg.data) as ds:
                target = ds[cfg.target].load()
        fit_kwargs = {"epochs": cfg.epochs} if cfg.epochs is not None else {}
        adv = advise(model, data, target=target, n_train=cfg.n_train,
                     responses=tuple(cfg.responses or DEFAULT_RESPONSES), members=cfg.members,
                     methods=cfg.methods, metrics=cfg.metrics, n_samples=cfg.audit_samples,
                     n_explain=cfg.explain_samples, seeds=cfg.seeds, seed=cfg.seed,
                     device=cfg.device, progress=not quiet, **fit_kwargs)
        paths = {"advice": io.to_netcdf(adv.advice, stage / "advice.nc",
                                        title=adv.advice.attrs["title"]),
                 "heatmaps": io.to_netcdf(adv.heatmaps, stage / "heatmaps.nc",
                                          title="attribution heatmaps of the user's network")}
        (stage / "report.md").write_text(adv.report())
        paths["report"] = stage / "report.md"
        for r in adv.advice["response"].values:
            one = adv.advice.sel(response=r).drop_vars("verdict").rename(
                verdict_by_response="verdict")
            name = f"trust_{r}"
            plots.close(plots.plot_trust(one, path=stage / f"{name}.png"))
            paths[name] = stage / f"{name}.png"
        final.mkdir(parents=True, exist_ok=True)
        for name in sorted(p.name for p in stage.iterdir()):
            os.replace(stage / name, final / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    if not quiet:
        print(f"xattrib advise: {adv.advice.attrs['verdict']}\nxattrib advise: wrote {final}",
              flush=True)
    return {k: final / p.name for k, p in paths.items()}
