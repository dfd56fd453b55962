"""Audit: drift findings from a plan, health findings from stored counters.

`judge` runs it (plan every host, then judge each); `drift` and `health` hold
the judgements, `rules` what each finding id means, `report` what comes out.
"""

from hvdyn.analysis.audit.health import (
    AVAILABLE_MIN_MB,
    VmHealth,
    balancer_findings,
    pressure_findings,
    rollup_health,
    vm_health,
    warn_threshold,
)
from hvdyn.analysis.audit.judge import host_audit, run_audit, store_audit
from hvdyn.analysis.audit.result import AuditReport, HostAudit

__all__ = [
    "AVAILABLE_MIN_MB",
    "AuditReport",
    "HostAudit",
    "VmHealth",
    "balancer_findings",
    "host_audit",
    "pressure_findings",
    "rollup_health",
    "run_audit",
    "store_audit",
    "vm_health",
    "warn_threshold",
]
