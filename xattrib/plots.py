"""Figures: truth vs heatmaps, histograms of per-sample correlation, per-cell skill maps.

Plain matplotlib on the lat/lon grid (no cartopy, nothing downloaded). Every function
returns the Figure and, given ``path``, writes a PNG atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .dims import METHOD_DIM
from .grid import find_latlon

__all__ = ["plot_histograms", "plot_maps", "plot_skill"]


def _save(fig: Any, path: str | os.PathLike | None) -> None:
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _mesh(ax: Any, da: xr.DataArray, **kw: Any) -> Any:
    sc = find_latlon(da)
    return ax.pcolormesh(da[sc.lon].values, da[sc.lat].values,
                         da.transpose(*sc.dims).values, shading="auto", **kw)


def plot_maps(heat: xr.Dataset, truth: xr.DataArray, samples: list[int] | None = None,
              path: str | os.PathLike | None = None) -> Any:
    """Truth and every method for a few samples; each map divided by its max |value| so one
    diverging colour scale, centred at 0, is shared across each row."""
    plt = _pyplot()
    a = heat["attribution"]
    samples = list(samples if samples is not None else range(min(3, a.sizes["sample"])))
    methods = [str(m) for m in a[METHOD_DIM].values]
    ncol = len(methods) + 1
    fig, axes = plt.subplots(len(samples), ncol, figsize=(2.4 * ncol, 1.9 * len(samples)),
                             squeeze=False, constrained_layout=True)
    mesh = None
    for r, i in enumerate(samples):
        panels = [("truth", truth.isel(sample=i))] + [
            (m, a.isel(sample=i).sel({METHOD_DIM: m})) for m in methods]
        for c, (title, da) in enumerate(panels):
            ax = axes[r, c]
            scale = float(np.nanmax(np.abs(da.values))) or 1.0
            mesh = _mesh(ax, da / scale, cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
            if c == 0:
                ax.set_ylabel(f"sample {int(truth['sample'][i]) if 'sample' in truth.coords else i}",
                              fontsize=8)
    fig.colorbar(mesh, ax=axes, shrink=0.6, label="value / max |value| of the map")
    _save(fig, path)
    return fig


def plot_histograms(scores: xr.Dataset, metric: str = "pearson",
                    path: str | os.PathLike | None = None) -> Any:
    """Histograms of the per-sample score of every method (the original's key figure)."""
    plt = _pyplot()
    s = scores[metric]
    methods = [str(m) for m in s[METHOD_DIM].values]
    ncol = min(4, len(methods))
    nrow = -(-len(methods) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3 * ncol, 2.2 * nrow), squeeze=False,
                             sharex=True, constrained_layout=True)
    bins = np.linspace(-1, 1, 41) if metric in ("pearson", "spearman", "cosine") else 40
    for ax, m in zip(axes.ravel(), methods, strict=False):
        v = s.sel({METHOD_DIM: m}).values
        v = v[np.isfinite(v)]
        if v.size == 0:  # e.g. a constant map: its correlation is undefined
            ax.text(0.5, 0.5, f"undefined {metric}", ha="center", transform=ax.transAxes)
            ax.set_title(m, fontsize=8)
            continue
        ax.hist(v, bins=bins, color="tab:blue", alpha=0.8)
        ax.axvline(np.mean(v), color="k", lw=1)
        ax.set_title(f"{m}  (mean {np.mean(v):.2f})", fontsize=8)
    for ax in axes.ravel()[len(methods):]:
        ax.set_visible(False)
    fig.supxlabel(f"per-sample {metric} with the truth")
    _save(fig, path)
    return fig


def plot_skill(skill: xr.DataArray, path: str | os.PathLike | None = None) -> Any:
    """Per-cell skill maps (correlation over samples), one panel per method."""
    plt = _pyplot()
    methods = [str(m) for m in skill[METHOD_DIM].values]
    ncol = min(4, len(methods))
    nrow = -(-len(methods) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3 * ncol, 2 * nrow), squeeze=False,
                             constrained_layout=True)
    mesh = None
    for ax, m in zip(axes.ravel(), methods, strict=False):
        mesh = _mesh(ax, skill.sel({METHOD_DIM: m}), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(m, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(methods):]:
        ax.set_visible(False)
    fig.colorbar(mesh, ax=axes, shrink=0.6, label="correlation with the truth over samples")
    _save(fig, path)
    return fig
