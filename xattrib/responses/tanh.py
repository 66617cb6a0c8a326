"""``tanh``: Fᵢ(x) = aᵢ·[tanh(cᵢ(x − tᵢ)) + tanh(cᵢtᵢ)], smooth and saturating, with a
spatially correlated threshold tᵢ and amplitude aᵢ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..covariances.quantised import QuantisedFactor
from .base import RESPONSES, Response, correlated_draws, no_extra

__all__ = ["Tanh"]

@dataclass(eq=False)
class Tanh(Response):
    """Fᵢ(x) = aᵢ·[tanh(cᵢ(x − tᵢ)) + tanh(cᵢtᵢ)], smooth and saturating; Fᵢ(0) = 0."""

    name: ClassVar[str] = "tanh"
    description: ClassVar[str] = (
        'aᵢ[tanh(cᵢ(x − tᵢ)) + tanh(cᵢtᵢ)]: smooth, saturating, with spatially correlated thresholds')
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {
        "amplitude": (), "threshold": (), "steepness": ()}

    def __post_init__(self) -> None:
        self.params = {k: np.asarray(self.params[k], float).reshape(-1)
                       for k in ("amplitude", "threshold", "steepness")}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        dt = x.dtype if x.dtype.kind == "f" else np.dtype(float)
        a, t, c = (self.params[k].astype(dt) for k in ("amplitude", "threshold", "steepness"))
        return a * (np.tanh(c * (x - t)) + np.tanh(c * t))

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray,
               sharpness: float = 2.0, **kwargs: Any) -> Tanh:
        """Amplitude and threshold (× σᵢ/2) are MVN(0, R) draws; steepness = sharpness / σᵢ."""
        no_extra(kwargs, "tanh")
        if not sharpness > 0:
            raise ValueError(f"sharpness must be positive, got {sharpness!r}")
        draws = correlated_draws(rng, corr_factor, 2)
        std = np.asarray(std, float)
        return cls({"amplitude": draws[:, 0], "threshold": 0.5 * std * draws[:, 1],
                    "steepness": sharpness / std})

    exact_activation: ClassVar[str] = "tanh"

    @classmethod
    def exact_hidden(cls, n_knots: int) -> int:
        return 1

    def exact_layers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """A diagonal Linear (one unit per cell), Tanh, Linear."""
        a, t, c = (self.params[k] for k in ("amplitude", "threshold", "steepness"))
        return np.asarray(c, float), -c * t, a, float(np.sum(a * np.tanh(c * t)))


RESPONSES.register(Tanh.name, Tanh)
