"""CF-1.8 output: global attributes, encodings, atomic netCDF/zarr writes, reading back.

Every file xattrib writes goes to a temporary path beside the target and is renamed into
place only once complete, so an interrupted or failed write never leaves a broken file.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from xarray.coding.times import contains_cftime_datetimes

from .grid import tidy_attrs

__all__ = ["check_cf", "cf_global_attrs", "open_dataset", "prepare_cf", "restore", "to_netcdf",
           "to_zarr", "versions", "write_together"]

_LARGE = 100_000  # variables with more elements than this are compressed


def package_version() -> str:
    """xattrib's installed version (``"0+unknown"`` when run from a bare source tree)."""
    import importlib.metadata as md

    try:
        return md.version("xattrib")
    except md.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def versions() -> dict[str, str]:
    """Versions of xattrib and the libraries whose numbers it depends on (no torch import)."""
    import importlib.metadata as md

    out = {}
    for pkg in ("xattrib", "numpy", "xarray", "dask", "torch", "captum"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


def cf_global_attrs(title: str | None = None, history: str | None = None) -> dict[str, str]:
    """CF-1.8 global attributes: Conventions, title, source (with versions), history."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    src = ", ".join(f"{k} {v}" for k, v in versions().items())
    return {
        "Conventions": "CF-1.8",
        "title": title or "xattrib output",
        "source": f"xattrib ({src})",
        "history": f"{stamp}: {history or 'written by xattrib'}",
        "references": "Mamalakis, Ebert-Uphoff & Barnes (2022), Environ. Data Sci.; "
                      "Singh et al. (2020), arXiv:2003.01926",
    }


def _is_bounds(ds: xr.Dataset, name: str) -> bool:
    return any(ds[c].attrs.get("bounds") == name for c in ds.variables)


def prepare_cf(ds: xr.Dataset | xr.DataArray, title: str | None = None,
               sample_chunk: int = 10_000) -> xr.Dataset:
    """A copy of ``ds`` ready for a CF-1.8 file: attributes, encodings, no bools.

    - global attributes from :func:`cf_global_attrs` (existing ``title``/``history`` kept);
    - no ``_FillValue`` on coordinates or bounds; NaN as ``_FillValue`` on float data;
    - booleans stored as ``int8`` flags (``flag_values``/``flag_meanings``), restored by
      :func:`open_dataset`;
    - large float variables zlib-compressed; those over ``sample`` stored as float32 and
      chunked along it (parameters such as a covariance keep float64);
    - a ``time`` coordinate gets ``standard_name='time'``; times (numpy or cftime calendars
      such as ``noleap``) are stored as float64 offsets (CF-1.8 has no 64-bit integers);
    - a dimension labelled by strings (``xai_method``) is stored with the labels as an
      auxiliary coordinate ``<dim>_label`` (CF coordinate variables must be numeric and
      monotonic), restored by :func:`open_dataset`;
    - attributes inherited from a source file that no longer hold are dropped
      (:func:`xattrib.grid.tidy_attrs`).
    """
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "data")
    ds = _labels_as_auxiliary(tidy_attrs(ds.copy()))
    attrs = cf_global_attrs(title=title or ds.attrs.get("title"))
    if "history" in ds.attrs:
        attrs["history"] = f"{ds.attrs['history']}\n{attrs['history']}"
    ds.attrs = {**{k: v for k, v in ds.attrs.items() if _attr_ok(v)}, **attrs}
    for name in list(ds.variables):
        var = ds[name]
        var.attrs = {k: v for k, v in var.attrs.items() if _attr_ok(v)}
        enc: dict[str, Any] = {k: v for k, v in var.encoding.items()
                               if k in ("units", "calendar", "dtype")}
        if var.dtype == bool:
            ds[name] = var.astype("int8").assign_attrs(
                {**var.attrs, "flag_values": np.array([0, 1], np.int8),
                 "flag_meanings": var.attrs.get("flag_meanings", "false true"),
                 "xattrib_dtype": "bool"})
            var = ds[name]
        if name in ds.coords or _is_bounds(ds, str(name)):
            enc["_FillValue"] = None
        elif np.issubdtype(var.dtype, np.floating):
            enc["_FillValue"] = np.nan
            if var.size > _LARGE:
                enc.update(zlib=True, complevel=1, shuffle=True)
                # per-sample data shrink to float32; parameters (a covariance, a basis) keep
                # their precision, so a generator rebuilt from the file draws the same values
                if "sample" in var.dims:
                    enc["dtype"] = "float32"
                if "sample" in var.dims:
                    enc["chunksizes"] = tuple(
                        min(sample_chunk, var.sizes[d]) if d == "sample" else var.sizes[d]
                        for d in var.dims)
        if np.issubdtype(var.dtype, np.datetime64) or contains_cftime_datetimes(var.variable):
            # CF-1.8 has no 64-bit integers; xarray would pick int64 for datetimes (and for
            # cftime ones such as a noleap calendar, whose calendar it keeps)
            if not re.match(r"\s*\w+\s+since\s+-?\d{4}-", str(enc.get("units", ""))):
                # none, or a source's ambiguous "hours since 1-1-1" (xarray warns on it)
                enc["units"] = "days since 1900-01-01"
            enc["dtype"] = "float64"
            if name in ds.dims:
                ds[name].attrs.setdefault("standard_name", "time")
                ds[name].attrs.setdefault("long_name", "time")
        ds[name].encoding = enc
    return ds


#: attribute marking the auxiliary coordinate that holds a dimension's string labels
_LABEL_OF = "xattrib_labels_of_dimension"


def _labels_as_auxiliary(ds: xr.Dataset) -> xr.Dataset:
    """String dimension coordinates renamed ``<dim>_label`` (auxiliary, not coordinate
    variables): the compliance checker fails on string coordinate variables (it subtracts
    them to test monotonicity) and CDO ignores them; a string auxiliary coordinate is CF."""
    for dim in list(ds.dims):
        if dim in ds.coords and ds[dim].dtype.kind in "UOS" and \
                not contains_cftime_datetimes(ds[dim].variable):
            label = f"{dim}_label"
            var = ds[dim].variable.to_base_variable()
            var.attrs = {**var.attrs, _LABEL_OF: str(dim)}
            ds = ds.drop_vars([dim]).assign_coords({label: var})
    return ds


def _labels_restored(ds: Any) -> Any:
    for name in list(ds.coords):
        dim = ds[name].attrs.get(_LABEL_OF)
        if dim is not None and ds[name].dims == (dim,):
            var = ds[name].variable.to_base_variable()
            var.attrs = {k: v for k, v in var.attrs.items() if k != _LABEL_OF}
            ds = ds.drop_vars([name]).assign_coords({dim: var})
    return ds


def _attr_ok(v: Any) -> bool:
    return isinstance(v, str | int | float | np.number | np.ndarray | list | tuple)


def _tmp_beside(path: Path, suffix: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def _progress(progress: bool | None, *objs: Any) -> Any:
    """dask's text progress bar around a compute of lazy data (shown after 1 s; local
    schedulers — on dask.distributed use its dashboard or ``distributed.progress``)."""
    import contextlib

    lazy = any(getattr(v, "chunks", None) is not None
               for o in objs for v in (o.variables.values() if isinstance(o, xr.Dataset)
                                       else [o.variable]))
    if progress is False or not lazy:
        return contextlib.nullcontext()
    from dask.diagnostics import ProgressBar

    return ProgressBar(minimum=1.0)


def to_netcdf(ds: xr.Dataset | xr.DataArray, path: str | os.PathLike, title: str | None = None,
              progress: bool | None = None, **kwargs: Any) -> Path:
    """Write ``ds`` as a CF-1.8 netCDF-4 file, atomically (temporary file, then rename).

    Lazy (dask) variables are computed while they are written, with dask's progress bar
    when that takes more than a second (``progress=False``: none). To write heatmaps and
    their scores without computing the heatmaps twice, use :func:`write_together`.

    Examples
    --------
    >>> import tempfile, os
    >>> from xattrib.grid import make_grid
    >>> p = os.path.join(tempfile.mkdtemp(), "grid.nc")
    >>> _ = to_netcdf(make_grid(30.0, mask=None), p)
    >>> open_dataset(p)["mask"].dtype
    dtype('bool')
    """
    path = Path(path)
    out = prepare_cf(ds, title=title)
    tmp = _tmp_beside(path, ".nc")
    try:
        with _progress(progress, out):
            out.to_netcdf(tmp, format="NETCDF4", **kwargs)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_together(files: dict[str | os.PathLike, xr.Dataset | xr.DataArray],
                   title: str | None = None, progress: bool | None = None) -> list[Path]:
    """Write several (lazy) Datasets as CF-1.8 netCDF files in **one** dask compute.

    Heatmaps and the scores computed from them share their graph: written one after the
    other, the heatmaps are computed twice (once for their file, once again for the scores').
    Here every file's data come from one compute, so shared work runs once. Each file is
    written atomically: if the compute fails, no file is touched and no temporary is left.

    Parameters
    ----------
    files : dict
        ``{path: Dataset}``, e.g. ``{"heat.nc": heat, "scores.nc": scores}``.
    title : str, optional
        The files' ``title`` (default: each Dataset's own).
    progress : bool, optional
        dask's progress bar while computing (shown after 1 s; False: none).

    Examples
    --------
    >>> import tempfile, os, xattrib
    >>> from xattrib.grid import make_grid
    >>> d = tempfile.mkdtemp()
    >>> g = make_grid(30.0, mask=None)
    >>> paths = write_together({os.path.join(d, "a.nc"): g, os.path.join(d, "b.nc"): g})
    >>> [p.name for p in paths]
    ['a.nc', 'b.nc']
    """
    import dask

    outs = [(Path(p), prepare_cf(ds, title=title)) for p, ds in files.items()]
    tmps = [_tmp_beside(p, ".nc") for p, _ in outs]
    try:
        delayed = [o.to_netcdf(t, format="NETCDF4", compute=False)
                   for (_, o), t in zip(outs, tmps, strict=True)]
        with _progress(progress, *(o for _, o in outs)):
            dask.compute(*delayed)
        for (p, _), t in zip(outs, tmps, strict=True):
            os.replace(t, p)
    except BaseException:
        for t in tmps:
            t.unlink(missing_ok=True)
        raise
    return [p for p, _ in outs]


def to_zarr(ds: xr.Dataset | xr.DataArray, path: str | os.PathLike, title: str | None = None,
            progress: bool | None = None, **kwargs: Any) -> Path:
    """Write ``ds`` as a CF-attributed zarr store, atomically (temporary store, then rename);
    lazy data are computed while written, with dask's progress bar after 1 s."""
    path = Path(path)
    out = prepare_cf(ds, title=title)
    for name in list(out.variables):  # zarr takes neither netCDF compression keys nor chunksizes
        enc = out[name].encoding
        for k in ("zlib", "complevel", "shuffle", "chunksizes"):
            enc.pop(k, None)
        if out[name].dtype.kind == "U":
            # zarr v3 specifies variable-length UTF-8 strings, not numpy's fixed-width ones
            # (those warn that they may become unreadable); values are unchanged
            var = out[name].variable.astype(object)
            var.encoding = enc
            if name in out.coords:
                out = out.assign_coords({name: var})
            else:
                out[name] = var
    tmp = _tmp_beside(path, ".zarr")
    try:
        with _progress(progress, out):
            out.to_zarr(tmp, mode="w", **kwargs)
        if path.exists():
            old = _tmp_beside(path, ".old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def open_dataset(path: str | os.PathLike, **kwargs: Any) -> xr.Dataset:
    """Open a file written by xattrib (netCDF or zarr), restoring boolean variables."""
    path = Path(path)
    if path.is_dir() or path.suffix == ".zarr":
        ds = xr.open_zarr(path, **kwargs)
    else:
        ds = xr.open_dataset(path, **kwargs)
    return restore(ds)


def restore(obj: Any) -> Any:
    """What xattrib wrote, as xattrib made it, from a file opened with plain xarray:
    ``xai_method`` (and every string-labelled dimension) labelled again, so
    ``.sel(xai_method="gradient")`` works and downstream verbs know the maps' methods, and
    boolean variables (``mask``) boolean again. Anything else passes through unchanged;
    every verb that reads heatmaps or a benchmark calls it first.

    Examples
    --------
    >>> import xarray as xr
    >>> plain = xr.Dataset(coords={"xai_method_label": ("xai_method", ["gradient"], {
    ...     "xattrib_labels_of_dimension": "xai_method"})})
    >>> restore(plain)["xai_method"].values.tolist()
    ['gradient']
    """
    if not isinstance(obj, xr.Dataset | xr.DataArray):
        return obj
    if isinstance(obj, xr.Dataset):
        bools = [n for n in obj.variables if obj[n].attrs.get("xattrib_dtype") == "bool"]
        if bools:
            obj = obj.copy()
            for name in bools:
                attrs = {k: v for k, v in obj[name].attrs.items()
                         if k not in ("xattrib_dtype", "flag_values")}
                obj[name] = obj[name].astype(bool).assign_attrs(attrs)
    if any(_LABEL_OF in obj[c].attrs for c in obj.coords):
        obj = _labels_restored(obj)
    return obj


def check_cf(path: str | os.PathLike, version: str = "1.8") -> list[str]:
    """Run the IOOS ``compliance-checker`` (cf:``version``) on a file; return its errors.

    Errors are the checker's high-priority failures (what its text report lists under
    "Errors") and any check that crashed on the file; an empty list means the file passes. Needs the ``compliance-checker``
    package (installed with ``xattrib[test]``).
    """
    import contextlib
    import io
    import json

    from compliance_checker.runner import CheckSuite, ComplianceChecker

    CheckSuite.load_all_available_checkers()
    said = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        # a check that crashes is only printed, not reported: catch it, it is a failure too
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            ComplianceChecker.run_checker(
                str(path), [f"cf:{version}"], verbose=0, criteria="normal",
                output_filename=str(report), output_format="json_new",
            )
        result = next(iter(json.loads(report.read_text()).values()))[f"cf:{version}"]
    errors: list[str] = [f"the checker crashed in {line.strip()}"
                         for line in said.getvalue().splitlines()
                         if line.startswith(f"cf:{version}.")]
    for check in result["high_priorities"]:
        scored, possible = check["value"]
        if scored < possible:
            errors.extend(f"{check['name']}: {m}" for m in check["msgs"]) if check["msgs"] \
                else errors.append(check["name"])
    return errors
