"""``"wavelet"``: the 2-D discrete wavelet transform (``ptwt``), grouped by level."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import xarray as xr

from ..grid.cells import CellIndex
from .base import TRANSFORMS, Grid, Transform, fits_message

__all__ = ["Wavelet"]

_ORIENT = ("h", "v", "d")  # ptwt's detail order: horizontal, vertical, diagonal


class Wavelet(Transform):
    """Multi-level 2-D DWT of the grid with ``ptwt`` (differentiable, any device).

    Features are every coefficient of ``ptwt.wavedec2`` (with ``mode`` boundary padding
    they can outnumber the cells; ``inverse`` crops back to the grid and inverts exactly).
    Invalid cells hold a zero anomaly. Default groups: ``wavelet_band`` — ``a<L>`` (the
    approximation at the coarsest level L) and ``d<j>`` (details at level j, 1 = finest,
    scale ≈ 2ʲ cells); with ``orientation=True`` details split into ``h<j>``, ``v<j>`` and
    ``d<j>`` (horizontal, vertical, diagonal). Each band carries its ``level`` and
    ``scale_cells``.

    Parameters
    ----------
    cells : CellIndex
    wavelet : str
        A PyWavelets name (``"haar"``, ``"db2"``, ``"sym4"``...).
    level : int
        Decomposition levels; at most ``pywt.dwt_max_level`` of the shorter grid axis.
    mode : str
        Boundary padding (``"symmetric"``, ``"reflect"``, ``"zero"``, ``"periodic"``).
    orientation : bool
        Group details by orientation as well as level.

    Examples
    --------
    >>> import torch, xattrib
    >>> from xattrib.transforms import Wavelet
    >>> cells = xattrib.CellIndex.from_data(xattrib.datasets.pacific_sst())
    >>> t = Wavelet(cells, wavelet="haar", level=2)
    >>> x = torch.randn(2, cells.n_cells)
    >>> bool(torch.allclose(t.inverse(t(x)), x, atol=1e-5))
    True
    >>> [str(b) for b in t.group_coords["level"]["wavelet_band"].values]
    ['a2', 'd2', 'd1']
    """

    name = "wavelet"
    needs: ClassVar[str] = (
        'a regular grid with at least 2**level cells along each axis (more for longer filters)')
    description: ClassVar[str] = (
        'every `ptwt.wavedec2` coefficient; bands `a<L>`, `d<j>` (`orientation=True` adds h/v/d)')
    default_groups: ClassVar[str] = "wavelet_band"

    @classmethod
    def fits_grid(cls, grid: Grid) -> bool:
        return grid.regular and min(grid.lat.size, grid.lon.size) >= 2

    def __init__(self, cells: CellIndex, wavelet: str = "haar", level: int = 2,
                 mode: str = "symmetric", orientation: bool = False) -> None:
        super().__init__(cells)
        import pywt

        if not self.grid.fits("wavelet"):
            raise ValueError(fits_message("wavelet", self.grid))
        try:
            self.wavelet = pywt.Wavelet(wavelet)
        except ValueError:
            raise ValueError(f"unknown wavelet {wavelet!r}; choose a PyWavelets name such as "
                             f"{pywt.wavelist(kind='discrete')[:6]}") from None
        ny, nx = cells.shape
        top = pywt.dwt_max_level(min(ny, nx), self.wavelet.dec_len)
        if not 1 <= int(level) <= max(top, 0):
            fits = ", ".join(n for n, c in TRANSFORMS.items() if n != "wavelet" and c.fits_grid(self.grid))
            raise ValueError(
                f"wavelet level {level} does not fit the grid: it is {self.grid.describe()}, "
                f"and {wavelet!r} (filter length {self.wavelet.dec_len}) allows at most level "
                f"{top} on its shorter axis of {min(ny, nx)} cells. Use level ≤ {top}"
                + (" or a shorter wavelet" if top < 1 else "")
                + f"; other transforms that fit this grid: {fits}")
        self.level, self.mode = int(level), str(mode)
        with torch.no_grad():
            coeffs = self._wavedec(torch.zeros(1, ny, nx))
        labels, levels, orients = [], [], []
        for i, part in enumerate(coeffs):
            if i == 0:
                labels.append(np.full(part[0].numel(), f"a{self.level}"))
                levels.append(np.full(part[0].numel(), self.level))
                orients.append(np.full(part[0].numel(), "a"))
                continue
            j = self.level - i + 1
            for o, arr in zip(_ORIENT, part, strict=True):
                n = arr[0].numel()
                labels.append(np.full(n, f"{o if orientation else 'd'}{j}"))
                levels.append(np.full(n, j))
                orients.append(np.full(n, o))
        lab, lev = np.concatenate(labels), np.concatenate(levels)
        fdim = "wavelet_feature"
        self.features = xr.DataArray(
            np.arange(lab.size), dims=(fdim,), name=fdim,
            attrs={"long_name": "index of a wavelet coefficient", "units": "1"},
            coords={"feature_level": (fdim, lev, {"long_name": "decomposition level",
                                                   "units": "1"}),
                    "orientation": (fdim, np.concatenate(orients), {
                        "long_name": "a: approximation, h/v/d: horizontal, vertical, "
                                     "diagonal detail"})})
        self.groups = xr.DataArray(lab, dims=(fdim,), name="wavelet_band", attrs={
            "long_name": "wavelet band (a: approximation, d/h/v: detail) and level"})
        bands = list(dict.fromkeys(lab))  # coarse to fine, as ptwt orders them
        blev = np.array([int(b[1:]) for b in bands])
        coords = {"wavelet_band": bands}
        self.group_coords = {
            "level": xr.DataArray(blev, dims=("wavelet_band",), coords=coords,
                                  attrs={"long_name": "decomposition level (1 = finest)",
                                         "units": "1"}),
            "scale_cells": xr.DataArray(2.0 ** blev, dims=("wavelet_band",), coords=coords,
                                        attrs={"long_name": "scale of the band in grid "
                                                            "cells (2**level)",
                                               "units": "1"})}
        self.params = {"wavelet": str(wavelet), "level": self.level, "mode": self.mode,
                       "orientation": int(bool(orientation))}

    def _wavedec(self, grid: torch.Tensor) -> Any:
        import ptwt

        return ptwt.wavedec2(grid, self.wavelet, level=self.level,
                             mode=self.mode)  # type: ignore[arg-type]  # checked by ptwt

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        coeffs = self._wavedec(self.to_grid(x))
        b = x.shape[0]
        parts = [coeffs[0].reshape(b, -1)] + [a.reshape(b, -1) for lvl in coeffs[1:]
                                               for a in lvl]
        return torch.cat(parts, dim=1)

    def inverse(self, s: torch.Tensor) -> torch.Tensor:
        import ptwt

        b = s.shape[0]
        ny, nx = self.cells.shape
        if not hasattr(self, "_shapes"):
            with torch.no_grad():
                c = self._wavedec(torch.zeros(1, ny, nx))
            self._shapes = [tuple(c[0].shape[1:])] + [
                tuple(a.shape[1:]) for lvl in c[1:] for a in lvl]
        pieces, at = [], 0
        for shp in self._shapes:
            n = int(np.prod(shp))
            pieces.append(s[:, at:at + n].reshape(b, *shp))
            at += n
        coeffs = [pieces[0]] + [tuple(pieces[1 + 3 * i: 4 + 3 * i])
                                for i in range(self.level)]
        grid = ptwt.waverec2(coeffs, self.wavelet)[..., :ny, :nx]  # type: ignore[arg-type]
        return self.from_grid(grid)


TRANSFORMS.register("wavelet", Wavelet)
