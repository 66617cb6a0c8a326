"""The main job: generate → fit → attribute → score → figures → report."""

from .run import JobConfig, check_out, run_benchmark

__all__ = ["JobConfig", "check_out", "run_benchmark"]
