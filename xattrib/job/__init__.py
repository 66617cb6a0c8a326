"""The commands' jobs: the main job (generate → fit → attribute → score → figures → report),
the audit of GT-free metrics and the advice for a user's network and data."""

from .advise_job import AdviseConfig, run_advise
from .audit_job import AuditConfig, run_audit
from .run import JobConfig, check_out, run_benchmark

__all__ = ["AdviseConfig", "AuditConfig", "JobConfig", "check_out", "run_advise", "run_audit",
           "run_benchmark"]
