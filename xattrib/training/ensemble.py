"""Ensembles of networks trained alike but seeded apart: ``fit(bench, seed=[0, 1, ...])``.

Krell et al. (2025) found that equally skilful networks can learn different functions when
the inputs are strongly correlated, so a heatmap's error may be the network's and not the
method's. An :class:`Ensemble` trains k members — one task each on a dask cluster, or k
threads sharing the local cores — and behaves like a :class:`~xattrib.Model` whose results
gain a ``member`` dimension (``predict``, ``attribute``, ``trim``, ``score``, ``evaluate``).
Each member is reproducible alone: ``fit(bench, seed=s)`` with the same settings and torch
threads gives the same weights.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..dims import MEMBER_DIM
from ..io import open_dataset, to_netcdf
from .model import Model

__all__ = ["Ensemble", "check_seeds", "member_coord"]

#: variables of a result that describe the grid, the same for every member
_GRID_VARS = ("mask", "cell_area")
#: attributes of a model Dataset that differ from member to member (kept per member)
_PER_MEMBER = ("xattrib_r2", "xattrib_linear_r2", "xattrib_history", "xattrib_provenance")


def check_seeds(seed: Any) -> list[int]:
    """The members' seeds: two or more distinct whole numbers."""
    try:
        seeds = [int(s) for s in seed]
    except (TypeError, ValueError):
        raise TypeError(f"seed must be a whole number or a list of them, got {seed!r}") from None
    if any(isinstance(s, bool) or float(s) != int(s) for s in seed):
        raise TypeError(f"seed must be a whole number or a list of them, got {seed!r}")
    if len(seeds) < 2:
        raise ValueError(f"an ensemble needs at least two seeds, got {seeds}; for one network "
                         "pass seed=<int>")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the ensemble's seeds repeat ({seeds}): equal seeds train equal "
                         "networks")
    return seeds


@dataclass(eq=False)
class Ensemble:
    """k networks of the same architecture on the same grid, trained with different seeds.

    Iterate over it, index it or take ``len``; ``members`` holds the :class:`Model` of each
    seed in ``seeds``. Results of ``predict``, ``attribute``, ``trim``, ``score`` and
    ``evaluate`` gain a ``member`` dimension labelled by seed.
    """

    members: list[Model]
    seeds: list[int]

    def __post_init__(self) -> None:
        self.seeds = [int(s) for s in self.seeds]
        if len(self.members) < 2:
            raise ValueError(f"an ensemble needs at least two members, got "
                             f"{len(self.members)}; use the Model itself")
        if len(self.seeds) != len(self.members):
            raise ValueError(f"{len(self.members)} members but {len(self.seeds)} seeds")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"the ensemble's seeds repeat: {self.seeds}")
        first = self.members[0]
        for s, m in zip(self.seeds[1:], self.members[1:], strict=True):
            why = _mismatch(first, m)
            if why:
                raise ValueError(f"member {s} does not match member {self.seeds[0]}: {why}; "
                                 "an ensemble's members share the grid, the inputs, the "
                                 "outputs and the architecture")

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[Model]:
        return iter(self.members)

    def __getitem__(self, i: int) -> Model:
        return self.members[i]

    def __repr__(self) -> str:
        return (f"<xattrib.Ensemble of {len(self)} {self.arch!r} members, seeds {self.seeds}, "
                f"R² {np.round(self.r2.values, 4).tolist()}>")

    # -- what every member shares ----------------------------------------------------------
    @property
    def arch(self) -> str:
        return self.members[0].arch

    @property
    def cells(self) -> Any:
        return self.members[0].cells

    @property
    def variables(self) -> list[str]:
        return self.members[0].variables

    @property
    def outputs(self) -> list[str]:
        return self.members[0].outputs

    @property
    def r2(self) -> xr.DataArray:
        """Validation R² of each member."""
        return self._per_member([m.r2 for m in self.members], "validation R2")

    @property
    def linear_r2(self) -> xr.DataArray:
        return self._per_member([m.linear_r2 for m in self.members],
                                "validation R2 of a linear regression")

    def _per_member(self, values: list[float], name: str) -> xr.DataArray:
        return xr.DataArray(np.asarray(values, float), dims=MEMBER_DIM,
                            coords=member_coord(self.seeds), attrs={"long_name": name})

    def stack(self, parts: list[Any]) -> Any:
        """Concatenate one result per member along ``member`` (labelled by seed); the grid's
        own variables (``mask``, ``cell_area``) stay as they are. Lazy parts stay lazy."""
        kw: dict[str, Any] = {}
        if isinstance(parts[0], xr.Dataset):
            kw = {"data_vars": [v for v in parts[0].data_vars if v not in _GRID_VARS],
                  "coords": "minimal", "compat": "override"}
        return xr.concat(parts, dim=MEMBER_DIM, combine_attrs="override", **kw
                         ).assign_coords(member_coord(self.seeds))

    def predict(self, ds: xr.Dataset, *args: Any, **kwargs: Any) -> xr.DataArray:
        """Each member's prediction (see :meth:`Model.predict`), over ``member``."""
        return self.stack([m.predict(ds, *args, **kwargs) for m in self.members])

    def own_attribution(self, ds: xr.Dataset | xr.DataArray, **kwargs: Any) -> xr.DataArray:
        """Each additive member's own exact attribution (:meth:`Model.own_attribution`)."""
        return self.stack([m.own_attribution(ds, **kwargs) for m in self.members])

    def score(self, ds: xr.Dataset, x: str | None = None, y: str = "y") -> xr.DataArray:
        """R² of each member's predictions against ``ds[y]`` (computes)."""
        return self._per_member([m.score(ds, x, y) for m in self.members], "R2")

    # -- files -----------------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        """One Dataset: the members' parameters stacked along ``member``, the grid once, each
        member's R², history and provenance in a JSON attribute."""
        parts = [m.to_dataset() for m in self.members]
        shared = [v for v in parts[0].data_vars if not _stacked(v)]
        stacked = xr.concat([p.drop_vars(shared) for p in parts], dim=MEMBER_DIM,
                            combine_attrs="override")  # variables keep their own attrs
        ds = xr.merge([parts[0][shared], stacked], combine_attrs="override")
        ds = ds.assign_coords(member_coord(self.seeds))
        ds.attrs = {k: v for k, v in parts[0].attrs.items() if k not in _PER_MEMBER}
        ds.attrs.update({
            "title": f"xattrib ensemble of {len(self)} models ({self.arch})",
            "xattrib_ensemble_seeds": json.dumps(self.seeds),
            "xattrib_member_attrs": json.dumps([{k: p.attrs[k] for k in _PER_MEMBER}
                                                for p in parts])})
        return ds

    def save(self, path: str | os.PathLike) -> Path:
        """Write the ensemble to one netCDF file (atomically; no pickled code)."""
        for m in self.members:  # the same refusals as a single model's
            m.check_savable()
        return to_netcdf(self.to_dataset(), path, title=f"xattrib ensemble ({self.arch})")

    @classmethod
    def load(cls, path: str | os.PathLike, factory: Any = None,
             trusted: str | list[str] | tuple[str, ...] = ()) -> Ensemble:
        """Read an ensemble written by :meth:`save`; as :meth:`Model.load`, reading runs no
        code the file names."""
        with open_dataset(path) as ds:
            ds = ds.load()
        source = f"the ensemble file {os.fspath(path)!r}"
        if "xattrib_ensemble_seeds" not in ds.attrs or MEMBER_DIM not in ds.dims:
            raise ValueError(f"{source} is not an xattrib ensemble (no member dimension); "
                             "read a single model with xattrib.Model.load")
        seeds = _json_list(ds.attrs["xattrib_ensemble_seeds"], source)
        per = _json_list(ds.attrs["xattrib_member_attrs"], source)
        if len(seeds) != ds.sizes[MEMBER_DIM] or len(per) != len(seeds):
            raise ValueError(f"{source} is damaged: {ds.sizes[MEMBER_DIM]} members, "
                             f"{len(seeds)} seeds, {len(per)} member attribute sets")
        members = []
        for i, extra in enumerate(per):
            one = ds.isel({MEMBER_DIM: i}, drop=True)
            one.attrs = {**{k: v for k, v in ds.attrs.items()
                            if k not in ("xattrib_ensemble_seeds", "xattrib_member_attrs")},
                         **{k: extra[k] for k in _PER_MEMBER}}
            members.append(Model.from_dataset(one, factory, trusted, source))
        return cls(members, [int(s) for s in seeds])


def member_coord(seeds: list[int]) -> dict[str, Any]:
    return {MEMBER_DIM: (MEMBER_DIM, np.asarray(seeds, np.int32),
                         {"long_name": "ensemble member (its training seed)"})}


def _stacked(name: Any) -> bool:
    """Variables of a model Dataset that differ between members: weights, normalisation."""
    return str(name).startswith("param_") or name in ("x_mean", "x_std", "y_mean", "y_std")


def _json_list(value: Any, source: str) -> list[Any]:
    try:
        out = json.loads(str(value))
    except json.JSONDecodeError:
        out = None
    if not isinstance(out, list):
        raise ValueError(f"{source} is damaged: an ensemble attribute is not a JSON list")
    return out


def _mismatch(a: Model, b: Model) -> str:
    if a.cells.shape != b.cells.shape or not np.array_equal(a.cells.flat, b.cells.flat):
        return "another grid or other valid cells"
    if list(a.variables) != list(b.variables):
        return f"inputs {b.variables}, not {a.variables}"
    if list(a.outputs) != list(b.outputs):
        return f"outputs {b.outputs}, not {a.outputs}"
    if a.arch != b.arch or a.arch_kwargs != b.arch_kwargs:
        return f"architecture {b.arch!r} {b.arch_kwargs}, not {a.arch!r} {a.arch_kwargs}"
    return ""
