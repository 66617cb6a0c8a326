"""The benchmark generator: a grid or anomalies → (x, y, truth), lazily, seeded and exact."""

from .benchmark_dataset import BASELINES, benchmark, is_untouched
from .generator import Generator
from .schema import generator_from_dataset, input_variables, is_benchmark

__all__ = ["BASELINES", "Generator", "benchmark", "generator_from_dataset", "input_variables",
           "is_benchmark", "is_untouched"]
