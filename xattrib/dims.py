"""Names of the dimensions xattrib creates, kept clear of xarray's keyword arguments.

A dimension named after a keyword of ``.sel``/``.isel``/``.loc``/``.interp``/``.reindex``/
``.drop_sel`` cannot be selected by keyword: ``heat.sel(method="gradient")`` raised
``TypeError`` on a Dataset and silently returned *every* method on a DataArray
(pydata/xarray#3324, open since 2019). So attribution methods live along ``xai_method``.
"""

from __future__ import annotations

import inspect

__all__ = ["METHOD_DIM", "RESERVED", "reserved_names"]

#: the dimension along which heatmaps and scores stack attribution methods
METHOD_DIM = "xai_method"


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
