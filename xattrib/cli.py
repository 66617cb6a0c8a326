"""``xattrib`` command line: argument parsing only; the work is in :mod:`xattrib.job`."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tomllib
from dataclasses import fields
from typing import Any

from .covariances import KERNELS, SAMPLERS
from .gtfree_metrics import GTFREE_METRICS
from .job import (
    AdviseConfig,
    AuditConfig,
    JobConfig,
    check_out,
    run_advise,
    run_audit,
    run_benchmark,
)
from .registry import closest_hint
from .responses import RESPONSES
from .truth_metrics import TRUTH_METRICS


def _methods() -> Any:
    from .methods import METHODS  # torch and captum: only when listed

    return METHODS


def _transforms() -> Any:
    from .transforms import TRANSFORMS

    return TRANSFORMS


def _architectures() -> Any:
    from .architectures import ARCHITECTURES

    return ARCHITECTURES


#: the plug-in families ``xattrib list`` shows (each a registry; the docs tables too)
FAMILIES: dict[str, Any] = {
    "methods": _methods, "transforms": _transforms, "responses": lambda: RESPONSES,
    "truth-metrics": lambda: TRUTH_METRICS, "architectures": _architectures,
    "kernels": lambda: KERNELS, "gtfree-metrics": lambda: GTFREE_METRICS,
    "samplers": lambda: SAMPLERS,
}
#: the families' older names, still accepted by ``xattrib list``
FAMILY_ALIASES = {"metrics": "truth-metrics", "probes": "gtfree-metrics"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xattrib", description="Benchmark neural-network attribution methods against an "
                                   "exact ground truth on lat/lon grids.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("benchmark", help="generate, fit, attribute, score and report",
                       description="Run the whole benchmark (default: the bundled real Pacific "
                                   "SST covariance, all affordable methods, ≤ 10 min on 2 cores) "
                                   "and write CF-1.8 netCDF files, figures and report.md.")
    b.add_argument("--out", required=True, help="output folder")
    b.add_argument("--config", help="TOML file with any of the options below (flags win)")
    b.add_argument("--samples", type=int, help="benchmark samples (default 20000)")
    b.add_argument("--test-samples", type=int, help="held-out samples to attribute (1000)")
    b.add_argument("--seed", type=int, help="seed of everything (0)")
    b.add_argument("--methods", help="comma-separated method names (default: all affordable)")
    b.add_argument("--baseline", choices=["zero", "expectation"], help="baseline (zero)")
    b.add_argument("--response", choices=RESPONSES.names(), help="response family (pwl)")
    b.add_argument("--grid", choices=["pacific_sst", "global"],
                   help="pacific_sst (real covariance) or global (parametric, ocean)")
    b.add_argument("--resolution", type=float, help="degrees, with --grid global (10)")
    b.add_argument("--data", metavar="FILE",
                   help="your own anomalies: a netCDF file or zarr store (instead of --grid)")
    b.add_argument("--var", action="append", metavar="NAME",
                   help="a variable of --data (needed when the file holds several); repeat "
                        "it for several variables as one source (--var sst --var slp)")
    b.add_argument("--lags", type=int, nargs="+", metavar="K",
                   help="the field at these steps back as variables of one source (e.g. "
                        "--lags 0 1: this and last season; the bundled SST or one --var)")
    b.add_argument("--sample-dim", metavar="DIM",
                   help="the sample dimension of --data (default: its one non-spatial dim)")
    b.add_argument("--length-scale-km", type=float, help="parametric correlation length")
    b.add_argument("--epochs", type=int, help="training epochs (default: fit's recipe, 16)")
    b.add_argument("--samples-per-epoch", type=int, help="fresh samples per epoch (fit's default: 1000000)")
    b.add_argument("--fresh-every", type=int, help="epochs each pool of fresh samples is used (fit's default: 4)")
    b.add_argument("--exact-samples", type=int,
                   help="test samples also explained on the exact F, for the report's "
                        "'Pearson r on exact F' column (200, or all test samples when "
                        "fewer; 0: none)")
    b.add_argument("--gtfree-samples", type=int,
                   help="test samples of the report's 'GT-free metrics against the truth' "
                        "(100, or all test samples when fewer; 0: none)")
    b.add_argument("--scheduler", help="'local' (a LocalCluster) or a dask.distributed address")
    b.add_argument("--device", help="torch device (default: cuda when available)")
    b.add_argument("--quiet", action="store_true", help="no progress on stderr")
    b.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty --out folder, replacing files of the same name")
    a = sub.add_parser("audit", help="audit GT-free metrics against the exact truth",
                       description="Audit every GT-free metric (xattrib list gtfree-metrics) on a "
                                   "benchmark: rank agreement with the truth, the truth-"
                                   "corruption ladder, noise floor; writes audit_*.nc, "
                                   "trust_*.png and trust.md.")
    a.add_argument("--out", required=True, help="output folder")
    a.add_argument("--samples", type=int, default=20_000, help="benchmark samples (20000)")
    a.add_argument("--audit-samples", type=int, default=100, help="samples audited (100)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--seeds", type=int, default=3, help="seeds of the noise floor (3)")
    a.add_argument("--models", default="exact,trained",
                   help="comma-separated: exact (Model.exact) and/or trained (fit's defaults)")
    a.add_argument("--model-file", help="a saved model (model.nc) as the trained model")
    a.add_argument("--trusted", action="append", metavar="NAME",
                   help="a factory ('package.module:function') the --model-file may rebuild "
                        "its network with; repeat it for several (as Model.load(trusted=))")
    a.add_argument("--data", metavar="FILE",
                   help="your own anomalies: a netCDF file or zarr store (instead of --grid)")
    a.add_argument("--var", action="append", metavar="NAME",
                   help="a variable of --data; repeat it for several variables as one source")
    a.add_argument("--sample-dim", metavar="DIM",
                   help="the sample dimension of --data (default: its one non-spatial dim)")
    a.add_argument("--methods", help="comma-separated methods (default: six diverse ones)")
    a.add_argument("--metrics", help="comma-separated GT-free metrics (default: all)")
    a.add_argument("--grid", choices=["pacific_sst", "global"])
    a.add_argument("--resolution", type=float, default=10.0)
    a.add_argument("--length-scale-km", type=float, help="parametric correlation length")
    a.add_argument("--response", choices=RESPONSES.names(), default="pwl")
    a.add_argument("--epochs", type=int, help="training epochs (fit's default)")
    a.add_argument("--samples-per-epoch", type=int)
    a.add_argument("--device")
    a.add_argument("--quiet", action="store_true")
    a.add_argument("--overwrite", action="store_true")
    _advise_parser(sub)
    ls = sub.add_parser("list", help="list the members of a plug-in family",
                        description="Print a family's registry as a Markdown table: its names "
                                    "and what each does.")
    ls.add_argument("family", choices=list(FAMILIES) + list(FAMILY_ALIASES))
    return p


def _advise_parser(sub: Any) -> None:
    v = sub.add_parser("advise", help="which attribution method to believe for your network "
                                      "and data, and which metric to check it with",
                       description="Train surrogate networks of your model's architecture on "
                                   "benchmarks shaped like your data, score every method "
                                   "against the exact truth, audit every GT-free metric by "
                                   "the rule of trust, and check the trusted metrics on your "
                                   "own network; writes advice.nc, heatmaps.nc, report.md "
                                   "and trust_*.png.")
    v.add_argument("--model-file", required=True, help="your saved model (Model.save)")
    v.add_argument("--trusted", action="append", metavar="NAME",
                   help="a factory ('package.module:function') the model file may be rebuilt "
                        "with; repeat it for several (as Model.load(trusted=))")
    v.add_argument("--data", required=True, metavar="FILE",
                   help="your inputs: a netCDF file or zarr store on the model's grid")
    v.add_argument("--var", action="append", metavar="NAME",
                   help="the variable the model reads; repeat it for several")
    v.add_argument("--target", metavar="NAME",
                   help="a variable of --data with what the model predicts (one value per "
                        "sample): its R² is reported beside the surrogates'")
    v.add_argument("--out", required=True, help="output folder")
    v.add_argument("--n-train", type=int, help="surrogates' training samples (default: the "
                                               "samples in --data)")
    v.add_argument("--responses", help="comma-separated response families (pwl,tanh)")
    v.add_argument("--members", type=int, default=2, help="surrogates per family (2)")
    v.add_argument("--methods", help="comma-separated methods (default: six diverse ones)")
    v.add_argument("--metrics", help="comma-separated GT-free metrics (default: all)")
    v.add_argument("--audit-samples", type=int, default=40, help="benchmark samples scored and "
                                                                 "audited per family (40)")
    v.add_argument("--explain-samples", type=int, default=100,
                   help="samples of --data explained on your network (the last 100)")
    v.add_argument("--seeds", type=int, default=2, help="seeds of the noise floor (2)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--epochs", type=int, help="surrogates' training epochs (fit's recipe)")
    v.add_argument("--device")
    v.add_argument("--quiet", action="store_true")
    v.add_argument("--overwrite", action="store_true")


def _advise(args: argparse.Namespace) -> int:
    return _job(args, run_advise, lambda: AdviseConfig(
        model_file=args.model_file, data=args.data, var=args.var, target=args.target,
        trusted=args.trusted, n_train=args.n_train, responses=_split(args.responses),
        members=args.members, methods=_split(args.methods), metrics=_split(args.metrics),
        audit_samples=args.audit_samples, explain_samples=args.explain_samples,
        seeds=args.seeds, seed=args.seed, epochs=args.epochs, device=args.device))


def _job(args: argparse.Namespace, run: Any, config: Any) -> int:
    """A command's settings checked (files, names, numbers, the out folder) before its job
    runs: bad input is one line and exit 2, with nothing written."""
    try:
        cfg = config()
        cfg.validate()
        check_out(args.out, args.overwrite)
    except DATA_ERRORS as err:
        return _refuse(err)
    return _running(lambda: run(args.out, cfg, quiet=args.quiet, overwrite=args.overwrite),
                    args.out)


def config_from_args(args: argparse.Namespace) -> JobConfig:
    """TOML values first, then command-line flags over them; unknown keys are errors."""
    values: dict[str, Any] = {}
    names = {f.name for f in fields(JobConfig)}
    if args.config:
        try:
            with open(args.config, "rb") as fh:
                values = tomllib.load(fh)
        except OSError as err:
            raise ValueError(f"cannot read --config {args.config!r}: {err.strerror}") from None
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"--config {args.config!r} is not valid TOML: {err}") from None
        unknown = sorted(set(values) - names)
        if unknown:
            hints = "".join(closest_hint(u, sorted(names)) for u in unknown)
            raise ValueError(f"unknown key(s) {unknown} in {args.config};{hints} valid keys: "
                             f"{', '.join(sorted(names))}")
    for name in names:
        v = getattr(args, name, None)
        if v is not None:
            values[name] = v
    if isinstance(values.get("methods"), str):
        values["methods"] = [m.strip() for m in values["methods"].split(",") if m.strip()]
    if isinstance(values.get("var"), str):
        values["var"] = [values["var"]]
    if values.get("grid") == "pacific_sst":
        values["grid"] = None
    return JobConfig(**values)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        print(FAMILIES[FAMILY_ALIASES.get(args.family, args.family)]().table())
        return 0
    if args.command == "audit":
        return _audit(args)
    if args.command == "advise":
        return _advise(args)
    try:
        cfg = config_from_args(args)
        cfg.validate()
        check_out(args.out, args.overwrite)
    except DATA_ERRORS as err:
        return _refuse(err)
    command = "xattrib " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    return _running(lambda: run_benchmark(args.out, cfg, quiet=args.quiet, command=command,
                                          overwrite=args.overwrite), args.out)


def _split(v: str | None) -> list[str] | None:
    return [s.strip() for s in v.split(",") if s.strip()] if v else None


def _audit(args: argparse.Namespace) -> int:
    return _job(args, run_audit, lambda: AuditConfig(
        samples=args.samples, audit_samples=args.audit_samples, seed=args.seed,
        seeds=args.seeds, models=tuple(_split(args.models) or ()),
        model_file=args.model_file, trusted=args.trusted, data=args.data, var=args.var,
        sample_dim=args.sample_dim, methods=_split(args.methods),
        metrics=_split(args.metrics),
        grid=None if args.grid in (None, "pacific_sst") else args.grid,
        resolution=args.resolution, length_scale_km=args.length_scale_km,
        response=args.response, epochs=args.epochs,
        samples_per_epoch=args.samples_per_epoch, device=args.device))


#: what bad input raises (a missing variable, an unreadable file, an untrusted factory,
#: a model on another grid): one line and exit 2 on the command line, like a bad flag
DATA_ERRORS = (ValueError, TypeError, KeyError, OSError)


def _refuse(err: BaseException, out: str | None = None) -> int:
    """One line on stderr and exit status 2 (``XATTRIB_TRACEBACK=1`` shows the traceback)."""
    if os.environ.get("XATTRIB_TRACEBACK"):
        raise err
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    after = f" (nothing was written to {out})" if out else ""
    print(f"xattrib: {' '.join(text.split())}{after}", file=sys.stderr)
    return 2


def _running(job: Any, out: str) -> int:
    try:
        job()
    except KeyboardInterrupt:
        print(f"xattrib: interrupted; nothing was written to {out}", file=sys.stderr)
        return 130
    except DATA_ERRORS as err:
        return _refuse(err, out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
