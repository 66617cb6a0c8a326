"""Figures: truth vs heatmaps, histograms of per-sample correlation, per-cell skill maps.

Maps have latitude/longitude axes in degrees, a diverging colour scale centred at zero, and
coastlines drawn from the 1 km land mask that ``global-land-mask`` ships: nothing is ever
downloaded (cartopy's own coastlines fetch Natural Earth files, which hangs offline). With
cartopy installed (optional), maps use a PlateCarree projection with the same coastlines.
Every function returns the Figure and, given ``path``, writes a PNG atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .dims import METHOD_DIM
from .grid.latlon import find_latlon

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
    import sys

    import matplotlib

    if "ipykernel" not in sys.modules:  # files only; in a notebook figures show inline
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _projection() -> Any:
    """cartopy's PlateCarree when cartopy is installed, else None (plain axes)."""
    try:
        import cartopy.crs as ccrs
    except ImportError:
        return None
    return ccrs.PlateCarree(central_longitude=180.0)


def _coastline(lat: np.ndarray, lon: np.ndarray, step: float = 0.25
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Land fraction on a fine grid over the map's extent (for a 0.5 contour)."""
    from global_land_mask import globe

    la = np.arange(max(-89.9, lat.min() - 2.5), min(89.9, lat.max() + 2.5), step)
    lo = np.arange(lon.min() - 2.5, lon.max() + 2.5, step)
    lon2, lat2 = np.meshgrid(lo, la)
    land = globe.is_land(lat2, ((lon2 + 180.0) % 360.0) - 180.0)
    return lo, la, land.astype(float)


def _mesh(ax: Any, da: xr.DataArray, coast: bool = True, **kw: Any) -> Any:
    """A map of ``da``: degrees on the axes, coastlines from the shipped land mask."""
    sc = find_latlon(da)
    lon, lat = np.asarray(da[sc.lon].values, float), np.asarray(da[sc.lat].values, float)
    extra = {} if getattr(ax, "projection", None) is None else {"transform": _plate()}
    mesh = ax.pcolormesh(lon, lat, da.transpose(*sc.dims).values, shading="auto",
                         **extra, **kw)
    if coast and sc.regular:
        lo, la, land = _coastline(lat, lon)
        ax.contour(lo, la, land, levels=[0.5], colors="0.25", linewidths=0.5, **extra)
    if not extra:
        ax.set_xlim(lon.min(), lon.max())
        ax.set_ylim(lat.min(), lat.max())
        ax.xaxis.set_major_formatter(lambda v, _: f"{v % 360:.0f}°E")
        ax.yaxis.set_major_formatter(lambda v, _: f"{abs(v):.0f}°{'N' if v >= 0 else 'S'}")
        ax.tick_params(labelsize=6)
    return mesh


def _plate() -> Any:
    import cartopy.crs as ccrs

    return ccrs.PlateCarree()


def _map_axes(plt: Any, nrow: int, ncol: int, figsize: tuple[float, float]) -> tuple[Any, Any]:
    proj = _projection()
    kw = {} if proj is None else {"subplot_kw": {"projection": proj}}
    return plt.subplots(nrow, ncol, figsize=figsize, squeeze=False, constrained_layout=True,
                        **kw)


def plot_maps(heat: xr.Dataset, truth: xr.DataArray, samples: list[int] | None = None,
              path: str | os.PathLike | None = None) -> Any:
    """Truth and every method for a few samples; each map divided by its max ``|value|`` so one
    diverging colour scale, centred at 0, is shared across each row."""
    plt = _pyplot()
    a = heat["attribution"]
    samples = list(samples if samples is not None else range(min(3, a.sizes["sample"])))
    methods = [str(m) for m in a[METHOD_DIM].values]
    ncol = len(methods) + 1
    fig, axes = _map_axes(plt, len(samples), ncol, (2.6 * ncol, 2.0 * len(samples)))
    mesh = None
    for r, i in enumerate(samples):
        panels = [("truth", truth.isel(sample=i))] + [
            (m, a.isel(sample=i).sel({METHOD_DIM: m})) for m in methods]
        for c, (title, da) in enumerate(panels):
            ax = axes[r, c]
            scale = float(np.nanmax(np.abs(da.values))) or 1.0
            mesh = _mesh(ax, da / scale, cmap="RdBu_r", vmin=-1, vmax=1)
            if r < len(samples) - 1:
                ax.set_xticklabels([])
            if c > 0:
                ax.set_yticklabels([])
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
    fig, axes = _map_axes(plt, nrow, ncol, (3.2 * ncol, 2.2 * nrow))
    mesh = None
    for ax, m in zip(axes.ravel(), methods, strict=False):
        mesh = _mesh(ax, skill.sel({METHOD_DIM: m}), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(m, fontsize=8)
    for ax in axes.ravel()[len(methods):]:
        ax.set_visible(False)
    fig.colorbar(mesh, ax=axes, shrink=0.6, label="correlation with the truth over samples")
    _save(fig, path)
    return fig
