"""Figures: truth vs heatmaps, histograms of per-sample correlation, per-cell skill maps and
TRIM band curves.

Maps have latitude/longitude axes in degrees (°E/°W, °N/°S), a diverging colour scale centred
at zero, invalid cells (land) in grey, and coastlines drawn from the 1 km land mask that
``global-land-mask`` ships: nothing is ever downloaded (cartopy's own coastlines fetch
Natural Earth files, which hangs offline). :func:`add_coastlines` draws them on your own
axes. With cartopy installed (optional), maps use a PlateCarree projection with the same
coastlines. Every function returns the Figure and, given ``path``, writes a PNG atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .dims import INPUT_VARIABLE_DIM, METHOD_DIM, sample_dim_of
from .grid.latlon import area_weights, find_latlon, is_land, lon_ring, ring_lon

__all__ = ["add_coastlines", "close", "lon_label", "plot_bands", "plot_histograms", "plot_maps",
           "plot_skill", "plot_trust"]

#: font size of tick labels and panel titles (readable at the default figure size)
TICK_SIZE, TITLE_SIZE = 8, 9
#: what invalid cells (land) are filled with: not white, which reads as zero
INVALID_COLOUR = "0.8"


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


def close(*figures: Any) -> None:
    """Close figures that were only made to be written to files.

    pyplot keeps every figure it made until it is closed, so a process that writes many
    (the job, a loop over experiments) grows and matplotlib warns after 20.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from xattrib import plots
    >>> fig = plt.figure()
    >>> plots.close(fig)
    >>> fig.number in plt.get_fignums()
    False
    """
    plt = _pyplot()
    for fig in figures:
        plt.close(fig)


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
    la = np.arange(max(-89.9, lat.min() - 2.5), min(89.9, lat.max() + 2.5), step)
    lo = np.arange(lon.min() - 2.5, lon.max() + 2.5, step)
    lon2, lat2 = np.meshgrid(lo, la)
    land = is_land(lat2, ((lon2 + 180.0) % 360.0) - 180.0)
    return lo, la, land.astype(float)


def lon_label(v: float, _pos: Any = None) -> str:
    """A longitude as geographers write it: 80°W, 0°, 120°E, 180°.

    >>> [lon_label(v) for v in (280.0, -80.0, 0.0, 120.0, 180.0)]
    ['80°W', '80°W', '0°', '120°E', '180°']
    """
    w = (float(v) + 180.0) % 360.0 - 180.0
    if abs(w) < 1e-9 or abs(abs(w) - 180.0) < 1e-9:
        return f"{abs(w):.0f}°"
    return f"{abs(w):.0f}°{'E' if w > 0 else 'W'}"


def _lat_label(v: float, _pos: Any = None) -> str:
    return f"{abs(v):.0f}°" + ("" if abs(v) < 1e-9 else ("N" if v > 0 else "S"))


def add_coastlines(ax: Any, lat: Any, lon: Any | None = None, color: str = "0.25",
                   linewidth: float = 0.5, step: float = 0.25) -> Any:
    """Draw coastlines on ``ax`` over the extent of ``lat``/``lon`` (degrees), offline.

    The coastline is the 0.5 contour of the 1 km land mask that ``global-land-mask`` ships,
    sampled every ``step`` degrees: nothing is downloaded. ``lat`` may be a DataArray or
    Dataset with latitude/longitude coordinates (then ``lon`` is not needed). Works on plain
    axes (longitudes as in your data, 0…360 or −180…180) and on cartopy axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> cs = add_coastlines(ax, [-30.0, 30.0], [120.0, 280.0])
    >>> len(cs.allsegs[0]) > 0
    True
    """
    if lon is None:
        sc = find_latlon(lat)
        lat, lon = lat[sc.lat].values, lat[sc.lon].values
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    lo, la, land = _coastline(lat, lon, step)
    extra = {} if getattr(ax, "projection", None) is None else {"transform": _plate()}
    return ax.contour(lo, la, land, levels=[0.5], colors=color, linewidths=linewidth, **extra)


def _one_pole_value(values: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A row at ±90° is one point: drawn as one value (the row's mean), not as dozens of
    separate cells along the map's top or bottom edge."""
    out = values.copy()
    for i in np.flatnonzero(np.isclose(np.abs(lat), 90.0)):
        row = out[i]
        if np.isfinite(row).any():
            out[i] = np.nanmean(row)
    return out


def _mesh(ax: Any, da: xr.DataArray, coast: bool = True, **kw: Any) -> Any:
    """A map of ``da``: degrees on the axes, invalid cells grey, coastlines."""
    sc = find_latlon(da)
    lon, lat = np.asarray(da[sc.lon].values, float), np.asarray(da[sc.lat].values, float)
    values = np.asarray(da.transpose(*sc.dims).values, float)
    if sc.regular:
        values = _one_pole_value(values, lat)
        # columns in their order round the sphere, longitudes increasing without a jump:
        # a sorted 0…360 grid across Greenwich is drawn as one region, not stretched
        # across the gap between its last and first columns
        order, _ = lon_ring(lon)
        values, lon = values[:, order], ring_lon(lon)
    extra = {} if getattr(ax, "projection", None) is None else {"transform": _plate()}
    ax.set_facecolor(INVALID_COLOUR)
    mesh = ax.pcolormesh(lon, lat, values, shading="auto", **extra, **kw)
    if coast and sc.regular:
        add_coastlines(ax, lat, lon)
    if not extra:
        half_lat = abs(lat[1] - lat[0]) / 2 if sc.regular and lat.size > 1 else 0.0
        half_lon = abs(lon[1] - lon[0]) / 2 if sc.regular and lon.size > 1 else 0.0
        ax.set_xlim(lon.min() - half_lon, lon.max() + half_lon)
        ax.set_ylim(max(-90.0, lat.min() - half_lat), min(90.0, lat.max() + half_lat))
        ax.xaxis.set_major_formatter(lon_label)
        ax.yaxis.set_major_formatter(_lat_label)
        ax.tick_params(labelsize=TICK_SIZE)
    return mesh


def _pearson(a: xr.DataArray, b: xr.DataArray) -> float:
    """Area-weighted Pearson r of two maps over the cells finite in both."""
    av = np.asarray(a.values, float).ravel()
    bv = np.asarray(b.transpose(*a.dims).values, float).ravel()
    try:
        w = np.asarray(area_weights(a).broadcast_like(a).transpose(*a.dims).values,
                       float).ravel()
    except ValueError:
        w = np.ones_like(av)
    ok = np.isfinite(av) & np.isfinite(bv) & np.isfinite(w)
    if ok.sum() < 2:
        return float("nan")
    av, bv, w = av[ok], bv[ok], w[ok] / w[ok].sum()
    da, db = av - (w * av).sum(), bv - (w * bv).sum()
    den = np.sqrt((w * da * da).sum() * (w * db * db).sum())
    return float((w * da * db).sum() / den) if den > 0 else float("nan")


def _plate() -> Any:
    import cartopy.crs as ccrs

    return ccrs.PlateCarree()


def _map_axes(plt: Any, nrow: int, ncol: int, figsize: tuple[float, float]) -> tuple[Any, Any]:
    proj = _projection()
    kw = {} if proj is None else {"subplot_kw": {"projection": proj}}
    return plt.subplots(nrow, ncol, figsize=figsize, squeeze=False, constrained_layout=True,
                        **kw)


def _name_variable(fig: Any, da: xr.DataArray) -> None:
    """Title a figure of one input variable of several (its ``input_variable`` attribute
    or scalar coordinate) — maps of two variables otherwise look alike."""
    name = da.attrs.get("input_variable")
    if name is None and INPUT_VARIABLE_DIM in da.coords and da[INPUT_VARIABLE_DIM].ndim == 0:
        name = da[INPUT_VARIABLE_DIM].item()
    if name is not None:
        fig.suptitle(f"input variable {name}", fontsize=TITLE_SIZE + 1)


def plot_maps(heat: xr.Dataset, truth: xr.DataArray, samples: list[Any] | None = None,
              path: str | os.PathLike | None = None, sample_dim: str | None = None) -> Any:
    """Truth and every method for a few samples, each panel titled with its area-weighted
    Pearson r with the truth; each map divided by its max ``|value|`` so one diverging
    colour scale, centred at 0, is shared by all panels.

    Parameters
    ----------
    heat : Dataset
        ``attribute``'s output (``attribution`` over ``xai_method``, samples, lat, lon).
    truth : DataArray
        The true attributions on the same samples and grid.
    samples : list, optional
        Sample **labels** (values of the sample coordinate, as the row labels show; positions
        when the sample dimension has no coordinate). Default: the first three samples.
    path : path, optional
        Write the figure there as a PNG (atomically).
    sample_dim : str, optional
        The sample dimension (found by itself when there is one besides lat/lon).
    """
    plt = _pyplot()
    a = heat["attribution"]
    sdim = sample_dim_of(truth, sample_dim, what="the truth")
    if samples is None:
        picks = [truth.isel({sdim: i}) for i in range(min(3, truth.sizes[sdim]))]
    elif sdim in truth.coords:
        picks = [truth.sel({sdim: s}) for s in samples]
    else:
        picks = [truth.isel({sdim: int(s)}) for s in samples]
    methods = [str(m) for m in a[METHOD_DIM].values]
    ncol = len(methods) + 1
    fig, axes = _map_axes(plt, len(picks), ncol, (2.8 * ncol, 2.2 * len(picks) + 0.6))
    mesh = None
    for r, t in enumerate(picks):
        label = t[sdim].values if sdim in t.coords else (samples or range(3))[r]
        one = a.sel({sdim: label}) if sdim in t.coords else a.isel({sdim: int(label)})
        panels = [("truth", t)] + [(m, one.sel({METHOD_DIM: m})) for m in methods]
        for c, (title, da) in enumerate(panels):
            ax = axes[r, c]
            scale = float(np.nanmax(np.abs(da.values))) or 1.0
            mesh = _mesh(ax, da / scale, cmap="RdBu_r", vmin=-1, vmax=1)
            if r < len(picks) - 1:
                ax.set_xticklabels([])
            if c > 0:
                ax.set_yticklabels([])
                title = f"{title}  r = {_pearson(da, t):.2f}"
            if r == 0 or c > 0:
                ax.set_title(title if r == 0 or c == 0 else title.split("  ")[1],
                             fontsize=TITLE_SIZE)
            if c == 0:
                ax.set_ylabel(f"{sdim} {np.asarray(label).item()}", fontsize=TITLE_SIZE)
    fig.colorbar(mesh, ax=axes, orientation="horizontal", shrink=0.5, aspect=40,
                 label="value / max |value| of each map (grey: no data)")
    _name_variable(fig, a)
    _save(fig, path)
    return fig


def plot_bands(bands: xr.Dataset, reference: xr.Dataset | xr.DataArray | None = None,
               reference_label: str = "exact F", spread: tuple[float, float] = (0.25, 0.75),
               path: str | os.PathLike | None = None) -> Any:
    """Band curves of a TRIM result: median and spread of ``|attribution|`` per group.

    One line per method (median over samples, shaded between the ``spread`` quantiles),
    the ``reference`` — the truth in that space, or the TRIM result of
    ``Model.exact(bench)`` — dashed, and, when the groups carry a wavelength coordinate
    (Fourier bands, spherical-harmonic degrees), a secondary axis in km on top.

    Parameters
    ----------
    bands : Dataset
        :func:`xattrib.trim`'s output (``attribution`` over ``xai_method``, samples, groups).
    reference : Dataset or DataArray, optional
        Over the same samples and groups; a Dataset's ``attribution`` (its first method) or
        ``truth`` is used.
    spread : (float, float)
        Quantiles over samples of the shaded band.

    Examples
    --------
    >>> import xattrib
    >>> b = xattrib.datasets.pacific_sst().xattrib.benchmark(n_samples=20, seed=0)
    >>> exact = xattrib.Model.exact(b)
    >>> t = xattrib.trim(b, exact, methods=["gradient"], progress=False)
    >>> fig = plot_bands(t, reference=xattrib.trim(b, exact, progress=False))
    >>> fig.axes[0].get_xlabel()
    'radial wavenumber band (cycles per domain)'
    """
    plt = _pyplot()
    a = bands["attribution"]
    gdim = a.dims[-1]  # trim's groups come last: (xai_method, sample, group)
    sdim = [d for d in a.dims if d not in (METHOD_DIM, gdim)]
    x = np.asarray(a[gdim].values, float)
    fig, ax = plt.subplots(figsize=(6.0, 3.6), constrained_layout=True)
    lo, hi = spread
    for m in a[METHOD_DIM].values:
        v = np.abs(a.sel({METHOD_DIM: m}).transpose(*sdim, gdim).values.reshape(-1, x.size))
        line, = ax.plot(x, np.nanmedian(v, 0), marker="o", ms=3, label=str(m))
        ax.fill_between(x, np.nanquantile(v, lo, 0), np.nanquantile(v, hi, 0),
                        color=line.get_color(), alpha=0.2, lw=0)
    if reference is not None:
        ref = reference
        if isinstance(ref, xr.Dataset):
            ref = ref["truth"] if "truth" in ref else ref["attribution"]
        if METHOD_DIM in ref.dims:
            ref = ref.isel({METHOD_DIM: 0})
        rv = np.abs(ref.transpose(*[d for d in ref.dims if d != gdim], gdim).values
                    ).reshape(-1, x.size)
        ax.plot(x, np.nanmedian(rv, 0), "k--", lw=1.2, label=reference_label)
    ax.set_xlabel(str(a[gdim].attrs.get("long_name", gdim)), fontsize=TITLE_SIZE)
    units = a.attrs.get("units", "1")
    ax.set_ylabel(f"|attribution| per group ({units}), median" if units != "1"
                  else "|attribution| per group, median", fontsize=TITLE_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.legend(fontsize=TICK_SIZE, frameon=False)
    wl = next((c for c in bands.coords if bands[c].dims == (gdim,) and
               bands[c].attrs.get("units") == "km"), None)
    if wl is not None:
        _wavelength_axis(ax, x, np.asarray(bands[wl].values, float))
    _save(fig, path)
    return fig


def _wavelength_axis(ax: Any, k: np.ndarray, wl: np.ndarray) -> None:
    """A secondary x-axis in km, interpolated between the groups and their wavelengths."""
    ok = np.isfinite(wl) & (wl > 0)
    if ok.sum() < 2:
        return
    kk, ww = k[ok], wl[ok]
    order = np.argsort(kk)
    kk, ww = kk[order], ww[order]

    def to_wl(v: Any) -> Any:
        return np.interp(v, kk, ww)

    def to_k(v: Any) -> Any:
        return np.interp(v, ww[::-1], kk[::-1])

    sec = ax.secondary_xaxis("top", functions=(to_wl, to_k))
    # round wavelengths inside the range, spaced apart along the wavenumber axis
    span = kk.max() - kk.min()
    ticks: list[float] = []
    for w in (50000, 20000, 10000, 5000, 3000, 2000, 1500, 1000, 700, 500, 300, 200, 100, 50):
        if ww.min() <= w <= ww.max() and all(abs(to_k(w) - to_k(t)) > span / 12 for t in ticks):
            ticks.append(float(w))
    sec.set_xticks(ticks, [f"{t:,.0f}" for t in ticks])
    sec.set_xlabel("wavelength (km)", fontsize=TITLE_SIZE)
    sec.tick_params(labelsize=TICK_SIZE)


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
            ax.set_title(m, fontsize=TITLE_SIZE)
            continue
        ax.hist(v, bins=bins, color="tab:blue", alpha=0.8)
        ax.axvline(np.mean(v), color="k", lw=1)
        ax.set_title(f"{m}  (mean {np.mean(v):.2f})", fontsize=TITLE_SIZE)
        ax.tick_params(labelsize=TICK_SIZE)
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
        ax.set_title(m, fontsize=TITLE_SIZE)
    for ax in axes.ravel()[len(methods):]:
        ax.set_visible(False)
    fig.colorbar(mesh, ax=axes, orientation="horizontal", shrink=0.5, aspect=40,
                 label="correlation with the truth over samples (grey: no data)")
    _name_variable(fig, skill)
    _save(fig, path)
    return fig


def plot_trust(result: xr.Dataset, path: str | os.PathLike | None = None) -> Any:
    """The audit of GT-free metrics (:func:`xattrib.audit`) at a glance: per metric, its rank
    agreement with the truth (Kendall τ, bar with the bootstrap 95 % interval) and its ladder
    score (diamond), coloured by category; a tick (✓) on the metrics the rule of trust
    trusts (``verdict``, :data:`xattrib.evaluation.TRUST_RULE`), a cross (✗) on the
    misleading ones.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import xarray as xr
    >>> r = xr.Dataset({k: ("gtfree_metric", v) for k, v in {
    ...     "rank_agreement": [0.5, -0.5], "rank_agreement_low": [0.4, -0.6],
    ...     "rank_agreement_high": [0.6, -0.4], "ladder_monotonicity": [1.0, 0.2],
    ...     "verdict": ["trusted", "misleading"]}.items()},
    ...     coords={"gtfree_metric": ["faithfulness_correlation", "mprt"],
    ...             "category": ("gtfree_metric", ["faithfulness", "randomisation"])})
    >>> [t.get_text() for t in plot_trust(r).axes[0].get_yticklabels()]
    ['faithfulness_correlation  ✓', 'mprt  ✗']
    """
    plt = _pyplot()
    names = [str(n) for n in result["gtfree_metric"].values]
    fam = [str(f) for f in result["category"].values]
    colours = {f: c for f, c in zip(dict.fromkeys(fam), ("tab:blue", "tab:orange", "tab:green",
                                                         "tab:purple", "tab:grey"),
                                    strict=False)}
    y = np.arange(len(names))[::-1]
    fig, ax = plt.subplots(figsize=(8.0, 0.35 * len(names) + 1.4), constrained_layout=True)
    tau = np.asarray(result["rank_agreement"].values, float)
    lo = np.asarray(result["rank_agreement_low"].values, float)
    hi = np.asarray(result["rank_agreement_high"].values, float)
    ax.barh(y, np.nan_to_num(tau), color=[colours[f] for f in fam], alpha=0.8)
    ax.errorbar(np.nan_to_num(tau), y, xerr=[np.nan_to_num(tau - lo), np.nan_to_num(hi - tau)],
                fmt="none", ecolor="k", lw=0.8)
    lad = np.asarray(result["ladder_monotonicity"].values, float)
    ax.plot(lad, y, "D", color="k", ms=4, label="ladder monotonicity")
    said = ([str(v) for v in result["verdict"].values] if "verdict" in result
            else ["uninformative"] * len(names))
    mark = {"trusted": "  ✓", "misleading": "  ✗"}
    ax.set_yticks(y, [f"{n}{mark.get(v, '')}" for n, v in zip(names, said, strict=True)])
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlim(-1.05, 1.05)  # a ladder score of exactly ±1 stays in view
    ax.set_xlabel("agreement with the truth's ranking of methods (Kendall τ)",
                  fontsize=TITLE_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.8) for c in colours.values()]
    ax.legend(handles + ax.get_legend_handles_labels()[0],
              list(colours) + ["ladder monotonicity"], fontsize=TICK_SIZE, frameon=False,
              loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the bars, never on them
    ax.set_title("GT-free metrics against the truth (✓ trusted, ✗ misleading)",
                 fontsize=TITLE_SIZE)
    _save(fig, path)
    return fig
