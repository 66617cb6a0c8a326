"""The benchmark generator: a grid or anomalies → (x, y, truth), lazily, seeded and exact."""

from .assembly import BASELINES, benchmark, generator_from_dataset
from .generator import Generator

__all__ = ["BASELINES", "Generator", "benchmark", "generator_from_dataset"]
