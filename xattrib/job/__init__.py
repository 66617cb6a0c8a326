"""The main job: generate → fit → attribute → score → figures → report."""

from .audit_job import AuditConfig, run_audit
from .run import JobConfig, check_out, run_benchmark

__all__ = ["AuditConfig", "JobConfig", "check_out", "run_audit", "run_benchmark"]
