"""An orthonormal *real* Fourier basis on top of ``torch.fft.rfftn``.

Attribution methods need real features, and a transform whose features are independent:
the complex coefficients of a real field are Hermitian-redundant, and the real and imaginary
parts of a self-conjugate bin (the mean, a Nyquist bin) are real and zero. torch's FFT has
no real-to-real Fourier (DHT) transform, so this module builds the index maps (once, in
numpy) that pick each independent real number of ``rfftn(x, norm="ortho")``, scaled by √2
where its conjugate partner is not stored, and put them back for ``irfftn``. The features
are then the coordinates of ``x`` in an orthonormal basis of cosines and sines: ‖s‖ = ‖x‖,
``inverse(forward(x)) == x`` and ``inverse`` is the transpose of ``forward``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

SQRT2 = math.sqrt(2.0)


class RealDFT:
    """Index maps for the transformed trailing ``shape`` of ``(batch, lead, *shape)``."""

    def __init__(self, shape: tuple[int, ...], lead: int = 1) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.lead = int(lead)
        half = (*self.shape[:-1], self.shape[-1] // 2 + 1)
        self.half = half
        n_half = int(np.prod(half))
        bins = np.stack(np.unravel_index(np.arange(n_half), half), axis=1)  # (n_half, k)
        partner = (-bins) % np.asarray(self.shape)
        last, nl = bins[:, -1], self.shape[-1]
        edge = (last == 0) | ((nl % 2 == 0) & (last == nl // 2))
        selfconj = np.all(partner == bins, axis=1)
        pidx = np.ravel_multi_index(tuple(partner.T), half, mode="wrap")
        src: list[int] = []     # per feature (one row's worth): where it is stored,
        scale: list[float] = []  # its scale, wavenumbers and part
        kbin: list[np.ndarray] = []
        part: list[str] = []
        dst: list[int] = []     # per stored real number of the half array: which feature,
        feat: list[int] = []    # with which coefficient
        coef: list[float] = []
        for i in range(n_half):
            if selfconj[i]:
                f = len(src)
                src.append(2 * i)
                scale.append(1.0)
                kbin.append(bins[i])
                part.append("re")
                dst.append(2 * i)
                feat.append(f)
                coef.append(1.0)
            elif not edge[i] or i < pidx[i]:  # interior, or the first of an edge pair
                f = len(src)
                for p, name in enumerate(("re", "im")):
                    src.append(2 * i + p)
                    scale.append(SQRT2)
                    kbin.append(bins[i])
                    part.append(name)
                    dst.append(2 * i + p)
                    feat.append(f + p)
                    coef.append(1 / SQRT2)
                    if edge[i]:  # its stored partner: the complex conjugate
                        dst.append(2 * int(pidx[i]) + p)
                        feat.append(f + p)
                        coef.append((1.0 if p == 0 else -1.0) / SQRT2)
        n_feat = len(src)
        assert n_feat == int(np.prod(self.shape)), (n_feat, self.shape)
        row = 2 * n_half
        off_f = np.arange(self.lead)[:, None] * n_feat
        off_h = np.arange(self.lead)[:, None] * row
        self.n_features = n_feat * self.lead
        self.n_stored = row * self.lead
        self._src = torch.as_tensor((np.asarray(src)[None] + off_h).ravel())
        self._scale = torch.as_tensor(np.tile(scale, self.lead), dtype=torch.float32)
        self._dst = torch.as_tensor((np.asarray(dst)[None] + off_h).ravel())
        self._feat = torch.as_tensor((np.asarray(feat)[None] + off_f).ravel())
        self._coef = torch.as_tensor(np.tile(coef, self.lead), dtype=torch.float32)
        signed = np.asarray(kbin)
        for ax, n in enumerate(self.shape[:-1]):  # wavenumbers above n/2 are negative
            signed[:, ax] = np.where(signed[:, ax] > n // 2, signed[:, ax] - n, signed[:, ax])
        self.wavenumbers = signed  # (n_feat, k): integer cycles per domain along each axis
        self.parts = np.asarray(part)

    def _on(self, t: torch.Tensor, name: str) -> torch.Tensor:
        v = getattr(self, name)
        if v.device != t.device:
            v = v.to(t.device)
            setattr(self, name, v)
        return v

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        """``(b, lead, *shape)`` (or ``(b, *shape)`` when lead = 1) → ``(b, p)``."""
        dims = tuple(range(-len(self.shape), 0))
        c = torch.fft.rfftn(grid, dim=dims, norm="ortho")
        r = torch.view_as_real(c).reshape(grid.shape[0], -1)
        src, scale = self._on(r, "_src"), self._on(r, "_scale")
        return r.index_select(1, src) * scale.to(r.dtype)

    def inverse(self, s: torch.Tensor) -> torch.Tensor:
        """``(b, p)`` → ``(b, lead, *shape)``."""
        feat, dst, coef = self._on(s, "_feat"), self._on(s, "_dst"), self._on(s, "_coef")
        vals = s.index_select(1, feat) * coef.to(s.dtype)
        z = s.new_zeros(s.shape[0], self.n_stored).index_copy(1, dst, vals)
        c = torch.view_as_complex(z.view(s.shape[0], self.lead, *self.half, 2))
        dims = tuple(range(-len(self.shape), 0))
        return torch.fft.irfftn(c, s=self.shape, dim=dims, norm="ortho")
