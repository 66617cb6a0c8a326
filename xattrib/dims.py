"""Names of the dimensions xattrib creates, kept clear of xarray's keyword arguments.

A dimension named after a keyword of ``.sel``/``.isel``/``.loc``/``.interp``/``.reindex``/
``.drop_sel`` cannot be selected by keyword: ``heat.sel(method="gradient")`` raised
``TypeError`` on a Dataset and silently returned *every* method on a DataArray
(pydata/xarray#3324, open since 2019). So attribution methods live along ``xai_method``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from .grid import find_latlon
from .registry import closest_hint

__all__ = ["GROUP_DIM", "INPUT_VARIABLE_DIM", "MEMBER_DIM", "METHOD_DIM", "RESERVED", "TRUTH_KIND_DIM", "reserved_names", "same_samples", "sample_dim_of", "squeeze_extra"]

#: the dimension along which heatmaps and scores stack attribution methods
METHOD_DIM = "xai_method"
#: the dimension of an ensemble's results (labelled by each member's training seed)
MEMBER_DIM = "member"
#: the dimension of attributions to groups of cells (``attribute(..., groups=labels)``)
GROUP_DIM = "group"
#: the dimension of scores against each kind of exact attribution (interacting benchmarks)
TRUTH_KIND_DIM = "truth_kind"
#: the dimension of scores of a model of several input variables: each one, and ``all``
INPUT_VARIABLE_DIM = "input_variable"


def reserved_names() -> frozenset[str]:
    """Keyword parameters of xarray's selection methods: no dimension may be named so."""
    import xarray as xr

    names: set[str] = set()
    for cls in (xr.Dataset, xr.DataArray):
        for meth in ("sel", "isel", "interp", "reindex", "drop_sel", "reindex_like",
                     "interp_like"):
            sig = inspect.signature(getattr(cls, meth))
            names |= {p.name for p in sig.parameters.values()
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"}
    return frozenset(names)


#: computed once at import of this module (xarray is imported by xattrib anyway)
RESERVED = reserved_names()


def same_samples(a: Any, b: Any, dim: str, what_a: str, what_b: str) -> None:
    """Raise unless ``a`` and ``b`` hold the same samples along ``dim``: by count and, where
    both are labelled, by label (two test sets of equal length are not the same samples).

    >>> import xarray as xr
    >>> a = xr.DataArray([1, 2], dims="time", coords={"time": [0, 1]})
    >>> same_samples(a, a.assign_coords(time=[1, 2]), "time", "heat", "ds")
    Traceback (most recent call last):
    ...
    ValueError: heat and ds must hold the same samples along 'time', but their labels differ at 2 of 2 (the first: heat has 0, ds has 1); select the same ones, e.g. heat.sel(time=ds['time'])
    """
    for obj, name in ((a, what_a), (b, what_b)):
        if dim not in obj.dims:
            raise ValueError(f"{name} has no sample dimension {dim!r} (its dims: "
                             f"{tuple(map(str, obj.dims))}); pass sample_dim= the name of the "
                             "dimension that holds the samples")
    na, nb = a.sizes[dim], b.sizes[dim]
    if na != nb:
        raise ValueError(f"{what_a} and {what_b} must hold the same samples along {dim!r}: "
                         f"{what_a} has {na}, {what_b} {nb}; select the same ones, e.g. "
                         f"{what_a}.sel({dim}={what_b}[{dim!r}])")
    if dim in a.coords and dim in b.coords:
        la, lb = a[dim].values, b[dim].values
        try:
            off = la != lb
        except (TypeError, ValueError):  # labels of kinds that do not compare
            off = [str(x) != str(y) for x, y in zip(la, lb, strict=True)]
        n_off = int(sum(bool(o) for o in off))
        if n_off:
            i = next(k for k, o in enumerate(off) if o)
            raise ValueError(
                f"{what_a} and {what_b} must hold the same samples along {dim!r}, but their "
                f"labels differ at {n_off} of {na} (the first: {what_a} has {la[i]}, "
                f"{what_b} has {lb[i]}); select the same ones, e.g. "
                f"{what_a}.sel({dim}={what_b}[{dim!r}])")


def sample_dim_of(obj: Any, sample_dim: str | None = None, other: Iterable[Any] = (),
                  what: str = "the data", default: str | None = None) -> str:
    """The sample dimension of ``obj``: ``sample_dim`` checked, or the one dimension left
    after the spatial ones and ``other`` (dims such as ``xai_method`` that are not samples).
    Where that leaves several, ``default`` (e.g. ``"sample"``, xattrib's own name) is taken
    if it is one of them.

    Every function that takes data accepts any name (``time``, ``sample``, ``member``...) in
    its ``sample_dim=`` and finds it by itself when it is the only candidate.

    Examples
    --------
    >>> import xattrib
    >>> sample_dim_of(xattrib.datasets.pacific_sst())
    'time'
    """
    dims = [str(d) for d in obj.dims]
    if sample_dim is not None:
        if sample_dim not in dims:
            raise ValueError(f"sample_dim={sample_dim!r} is not a dimension of {what}; its "
                             f"dims are {tuple(dims)}.{closest_hint(sample_dim, dims)} Pass "
                             "sample_dim= the name of the dimension that holds the samples")
        return str(sample_dim)
    try:
        spatial = {str(d) for d in find_latlon(obj).dims}
    except ValueError:  # no grid (scores, or features of a transformed space)
        spatial = set()
    skip = spatial | {str(d) for d in other}
    left = [d for d in dims if d not in skip]
    if len(left) > 1 and default in left:
        return str(default)
    if len(left) != 1:
        raise ValueError(f"cannot tell the sample dimension of {what} among {tuple(left)} "
                         f"(its dims: {tuple(dims)}); pass sample_dim=, e.g. "
                         f"sample_dim={(left or ['time'])[0]!r}")
    return left[0]


def squeeze_extra(da: Any, sample_dim: str | None = None, what: str = "the data"
                  ) -> tuple[Any, str, list[str]]:
    """``(da, sample dim, notes)``: a field of one sample dimension and lat/lon.

    Real files keep size-1 dimensions (a pressure level, an ensemble member, a depth):
    those are squeezed, each leaving a scalar coordinate and a note (``"level=850"``) for
    the provenance. Larger extra dimensions are refused with their names and the
    selection that fixes them.

    Examples
    --------
    >>> import xattrib
    >>> sst = xattrib.datasets.pacific_sst().expand_dims(level=[850])
    >>> da, dim, notes = squeeze_extra(sst)
    >>> da.dims, dim, notes
    (('time', 'lat', 'lon'), 'time', ['level=850'])
    """
    spatial = {str(d) for d in find_latlon(da).dims}
    others = [str(d) for d in da.dims if str(d) not in spatial]
    if sample_dim is None:
        big = [d for d in others if da.sizes[d] > 1]
        if len(big) == 1:
            sample_dim = big[0]
        elif len(big) == 0 and len(others) == 1:
            sample_dim = others[0]
    sample_dim = sample_dim_of(da.squeeze([d for d in others if da.sizes[d] == 1 and d
                                           != sample_dim]) if sample_dim is None else da,
                               sample_dim, what=what)
    extra = [d for d in others if d != sample_dim]
    big = [d for d in extra if da.sizes[d] > 1]
    if big:
        sizes = ", ".join(f"{d} ({da.sizes[d]})" for d in big)
        raise ValueError(
            f"{what} has dimensions besides {sample_dim!r} and lat/lon: {sizes}; select one "
            f"value of each, e.g. .isel({big[0]}=0) or .sel({big[0]}=...), or name another "
            f"sample dimension with sample_dim=")
    notes = []
    for d in extra:
        v = da[d].values[0] if d in da.coords else 0
        notes.append(f"{d}={v.item() if hasattr(v, 'item') else v}")
    return (da.squeeze(extra) if extra else da), sample_dim, notes
