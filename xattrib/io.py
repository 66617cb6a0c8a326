"""CF-1.8 output: global attributes, encodings, atomic netCDF/zarr writes, reading back.

Every file xattrib writes goes to a temporary path beside the target and is renamed into
place only once complete, so an interrupted or failed write never leaves a broken file.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["check_cf", "cf_global_attrs", "open_dataset", "prepare_cf", "to_netcdf", "to_zarr", "versions"]

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
    - a ``time`` coordinate gets ``standard_name='time'``.
    """
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "data")
    ds = ds.copy()
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
        if np.issubdtype(var.dtype, np.datetime64):
            # CF-1.8 has no 64-bit integers; xarray would pick int64 for datetimes.
            enc.setdefault("units", "days since 1900-01-01")
            enc["dtype"] = "float64"
            if name in ds.dims:
                ds[name].attrs.setdefault("standard_name", "time")
                ds[name].attrs.setdefault("long_name", "time")
        ds[name].encoding = enc
    return ds


def _attr_ok(v: Any) -> bool:
    return isinstance(v, str | int | float | np.number | np.ndarray | list | tuple)


def _tmp_beside(path: Path, suffix: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def to_netcdf(ds: xr.Dataset | xr.DataArray, path: str | os.PathLike, title: str | None = None,
              **kwargs: Any) -> Path:
    """Write ``ds`` as a CF-1.8 netCDF-4 file, atomically (temporary file, then rename).

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
        out.to_netcdf(tmp, format="NETCDF4", **kwargs)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def to_zarr(ds: xr.Dataset | xr.DataArray, path: str | os.PathLike, title: str | None = None,
            **kwargs: Any) -> Path:
    """Write ``ds`` as a CF-attributed zarr store, atomically (temporary store, then rename)."""
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
    for name in list(ds.variables):
        if ds[name].attrs.get("xattrib_dtype") == "bool":
            attrs = {k: v for k, v in ds[name].attrs.items()
                     if k not in ("xattrib_dtype", "flag_values")}
            ds[name] = ds[name].astype(bool).assign_attrs(attrs)
    return ds


def check_cf(path: str | os.PathLike, version: str = "1.8") -> list[str]:
    """Run the IOOS ``compliance-checker`` (cf:``version``) on a file; return its errors.

    Errors are the checker's high-priority failures (what its text report lists under
    "Errors"); an empty list means the file passes. Needs the ``compliance-checker``
    package (installed with ``xattrib[test]``).
    """
    import json

    from compliance_checker.runner import CheckSuite, ComplianceChecker

    CheckSuite.load_all_available_checkers()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        ComplianceChecker.run_checker(
            str(path), [f"cf:{version}"], verbose=0, criteria="normal",
            output_filename=str(report), output_format="json_new",
        )
        result = next(iter(json.loads(report.read_text()).values()))[f"cf:{version}"]
    errors: list[str] = []
    for check in result["high_priorities"]:
        scored, possible = check["value"]
        if scored < possible:
            errors.extend(f"{check['name']}: {m}" for m in check["msgs"]) if check["msgs"] \
                else errors.append(check["name"])
    return errors
