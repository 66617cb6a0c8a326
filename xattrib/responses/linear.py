"""``linear``: Fᵢ(x) = wᵢ·x, on which every sensible attribution method must be exact."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..covariances.quantised import QuantisedFactor
from .base import RESPONSES, Response, correlated_draws, no_extra, ramp_layers

__all__ = ["Linear"]

@dataclass(eq=False)
class Linear(Response):
    """Fᵢ(x) = wᵢ·x. Every complete attribution method must recover wᵢ(xᵢ − bᵢ) exactly."""

    name: ClassVar[str] = "linear"
    description: ClassVar[str] = (
        'wᵢ·x: every complete method must be exact')
    param_dims: ClassVar[dict[str, tuple[str, ...]]] = {"weights": ()}

    def __post_init__(self) -> None:
        self.params = {"weights": np.asarray(self.params["weights"], float).reshape(-1)}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return x * self.params["weights"].astype(x.dtype if x.dtype.kind == "f" else float)

    def expectation(self, std: np.ndarray) -> np.ndarray:
        return np.zeros(self.n_cells)

    @classmethod
    def random(cls, rng: np.random.Generator, corr_factor: np.ndarray | QuantisedFactor,
               std: np.ndarray,
               **kwargs: Any) -> Linear:
        no_extra(kwargs, "linear")
        return cls({"weights": correlated_draws(rng, corr_factor, 1)[:, 0]})

    @classmethod
    def exact_hidden(cls, n_knots: int) -> int:
        return 2

    def exact_layers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """wᵢx as w·(ReLU(x + 1) − ReLU(−1 − x)) − w."""
        d = self.n_cells
        return ramp_layers(np.zeros((d, 0)), np.zeros((d, 0)), self.params["weights"],
                           np.zeros(d), np.full(d, -1.0))


RESPONSES.register(Linear.name, Linear)
