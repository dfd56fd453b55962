"""What an audit found: per-host windows and health, the fleet's findings, the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from hvdyn.analysis.audit.health import VmHealth
from hvdyn.core.errors import EXIT_FAILED, EXIT_OK, EXIT_PENDING
from hvdyn.core.findings import Finding
from hvdyn.core.model import HostFacts, HostResult, HostStatus
from hvdyn.history.rows import BalancerRow, SampleRow


@dataclass(frozen=True, slots=True, kw_only=True)
class HostAudit:
    host: str
    result: HostResult
    window: tuple[str, str] | None  # (start, end) on the host's clock
    samples: list[SampleRow] = field(default_factory=list)
    balancer: list[BalancerRow] = field(default_factory=list)
    vms: list[VmHealth] = field(default_factory=list)
    overcommit: float | None = None

    @property
    def facts(self) -> HostFacts | None:
        return self.result.plan.facts

    @property
    def failed(self) -> bool:
        return self.result.status in (HostStatus.FAILED, HostStatus.UNREACHABLE)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    policy: str
    since: timedelta
    hosts: list[HostAudit]
    findings: list[Finding]
    run_id: int | None = None

    @property
    def exit_code(self) -> int:
        if any(h.failed for h in self.hosts):
            return EXIT_FAILED
        if any(f.fails for f in self.findings):
            return EXIT_PENDING
        return EXIT_OK
