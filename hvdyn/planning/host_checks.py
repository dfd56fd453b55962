"""Host-level safety checks: they need every VM's plan on a host, not one VM.

Capacity checks (admission, overcommit) compare the host before and after
the plan: an error only when the plan makes an over-the-limit host worse,
so a plan that lowers memory on an already tight host is never refused.
`CAPACITY` errors block every planned change on the host; the others block
(or annotate) one VM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hvdyn.core.model import (
    Finding,
    Heartbeat,
    HostFacts,
    MemorySettings,
    Severity,
    VmPlan,
    VmState,
)
from hvdyn.planning.checks import VM_CHECKS, Check

CAPACITY = frozenset({"HVD006", "HVD007"})
# States whose VMs hold (or, when resumed, will need) their startup RAM.
_RUNS = frozenset(set(VmState) - {VmState.OFF, VmState.UNKNOWN})


@dataclass(frozen=True, slots=True, kw_only=True)
class HostContext:
    host: HostFacts
    plans: tuple[VmPlan, ...]
    reserve_mb: int
    max_overcommit: float | None


def after(plan: VmPlan) -> MemorySettings:
    """The settings a VM holds once this apply is done."""
    return plan.target if plan.has_work and plan.target is not None else plan.vm.memory


def startup_demand_mb(plans: tuple[VmPlan, ...], *, planned: bool) -> int:
    """Startup RAM of the VMs that run (or will run again after a restart)."""
    return sum(
        (after(p) if planned else p.vm.memory).startup_mb for p in plans if p.vm.state in _RUNS
    )


def check_admission(ctx: HostContext) -> list[Finding]:
    before = startup_demand_mb(ctx.plans, planned=False) + ctx.reserve_mb
    planned = startup_demand_mb(ctx.plans, planned=True) + ctx.reserve_mb
    if planned <= ctx.host.total_mb:
        return []
    text = (
        f"startup RAM of running VMs plus the {ctx.reserve_mb}MB reserve would be "
        f"{planned}MB, above the host's {ctx.host.total_mb}MB: VMs could not all start "
        "again (no Smart Paging on SP1)"
    )
    if planned > before:
        return [Finding(check="HVD006", severity=Severity.ERROR, message=text)]
    return [Finding(check="HVD006", severity=Severity.WARNING, message=text + "; not made worse")]


def _overcommit(plans: tuple[VmPlan, ...], pool_mb: int, *, planned: bool) -> float:
    total = 0
    for p in plans:
        s = after(p) if planned else p.vm.memory
        total += s.maximum_mb if s.dynamic else 0
    return total / pool_mb


def check_overcommit(ctx: HostContext) -> list[Finding]:
    limit = ctx.max_overcommit
    pool = ctx.host.total_mb - ctx.reserve_mb
    if limit is None or pool <= 0:
        return []
    before = _overcommit(ctx.plans, pool, planned=False)
    planned = _overcommit(ctx.plans, pool, planned=True)
    if planned <= limit:
        return []
    text = (
        f"Dynamic Memory maximums would add up to {planned:.2f}x the {pool}MB left after "
        f"the reserve, above the policy's max_overcommit {limit:g}"
    )
    if planned > before:
        return [Finding(check="HVD007", severity=Severity.ERROR, message=text)]
    return [Finding(check="HVD007", severity=Severity.WARNING, message=text + "; not made worse")]


def check_duplicate_names(ctx: HostContext) -> list[Finding]:
    """One finding per display name that several VMs share, naming their ids."""
    ids: dict[str, list[str]] = {}
    for p in ctx.plans:
        ids.setdefault(p.vm.name, []).append(p.vm.id)
    return [
        Finding(
            check="HVD008",
            severity=Severity.WARNING,
            message=f"{len(same)} VMs on this host are named {name!r} ({', '.join(same)}): "
            "counter samples (keyed by name) cannot tell them apart",
        )
        for name, same in ids.items()
        if len(same) > 1
    ]


def check_clustered(ctx: HostContext) -> list[Finding]:
    findings: list[Finding] = []
    for p in ctx.plans:
        if not (p.vm.clustered and p.has_work):
            continue
        if p.restart:
            findings.append(
                Finding(
                    check="HVD010",
                    severity=Severity.ERROR,
                    vm_id=p.vm.id,
                    message="clustered VM: hvdyn does not restart it outside the cluster "
                    "(the cluster would see a failure); stop it in Failover Cluster Manager",
                )
            )
        else:
            findings.append(
                Finding(
                    check="HVD009",
                    severity=Severity.INFO,
                    vm_id=p.vm.id,
                    message="clustered VM: the apply script refreshes the cluster's copy of the "
                    "configuration (Update-ClusterVirtualMachineConfiguration)",
                )
            )
    return findings


def check_heartbeat(ctx: HostContext) -> list[Finding]:
    findings: list[Finding] = []
    for p in ctx.plans:
        beat = p.vm.guest.heartbeat
        if not p.has_work or p.vm.state is not VmState.RUNNING or beat is Heartbeat.OK:
            continue
        label = "unknown" if beat is None else beat.name.lower()
        if p.restart:
            findings.append(
                Finding(
                    check="HVD011",
                    severity=Severity.ERROR,
                    vm_id=p.vm.id,
                    message=f"heartbeat is {label}: a graceful shutdown and the check that the "
                    "guest came back need working integration services",
                )
            )
        elif after(p).dynamic and not p.vm.memory.dynamic:
            findings.append(
                Finding(
                    check="HVD012",
                    severity=Severity.WARNING,
                    vm_id=p.vm.id,
                    message=f"heartbeat is {label}: cannot confirm the guest's Dynamic Memory "
                    "driver is alive",
                )
            )
    return findings


def check_discovery_warnings(ctx: HostContext) -> list[Finding]:
    """What discovery could not read (a failing cluster provider) reaches the plan output."""
    return [
        Finding(check="HVD014", severity=Severity.WARNING, message=message)
        for message in ctx.host.warnings
    ]


HOST_CHECKS: tuple[Check[HostContext], ...] = (
    Check(
        id="HVD006",
        severity=Severity.ERROR,
        run=check_admission,
        summary="host admission: startup RAM of running VMs + reserve above host RAM "
        "(blocks the host; warning when the plan does not make it worse)",
    ),
    Check(
        id="HVD007",
        severity=Severity.ERROR,
        run=check_overcommit,
        summary="sum of DM maximums / (host RAM - reserve) above max_overcommit "
        "(blocks the host; warning when not made worse)",
    ),
    Check(
        id="HVD008",
        severity=Severity.WARNING,
        run=check_duplicate_names,
        summary="duplicate VM display names on a host (counter data ambiguous)",
    ),
    Check(
        id="HVD009",
        severity=Severity.INFO,
        run=check_clustered,
        summary="clustered VM: apply refreshes the cluster's configuration copy",
    ),
    Check(
        id="HVD010",
        severity=Severity.ERROR,
        run=check_clustered,
        summary="clustered VM would be restarted outside the cluster",
    ),
    Check(
        id="HVD011",
        severity=Severity.ERROR,
        run=check_heartbeat,
        summary="restart planned but the heartbeat is not OK",
    ),
    Check(
        id="HVD012",
        severity=Severity.WARNING,
        run=check_heartbeat,
        summary="enabling DM while the heartbeat is not OK",
    ),
    Check(
        id="HVD014",
        severity=Severity.WARNING,
        run=check_discovery_warnings,
        summary="the host could not answer part of discovery (e.g. the cluster check failed: "
        "apply will not stop any VM on it)",
    ),
)


def check_host(ctx: HostContext) -> list[Finding]:
    """Every host check's findings, each check function run once."""
    seen: set[Callable[[HostContext], list[Finding]]] = set()
    findings: list[Finding] = []
    for check in HOST_CHECKS:
        if check.run not in seen:
            seen.add(check.run)
            findings.extend(check.run(ctx))
    return findings


def checks_table() -> str:
    """Markdown table of the VM and host checks, for the README."""
    rows = sorted(
        [(c.id, c.severity, c.summary) for c in VM_CHECKS]
        + [(c.id, c.severity, c.summary) for c in HOST_CHECKS]
    )
    lines = ["| id | severity | check |", "|---|---|---|"]
    lines += [f"| {i} | {sev} | {summary} |" for i, sev, summary in rows]
    return "\n".join(lines)
