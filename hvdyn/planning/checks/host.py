"""Host checks: they need every VM's plan on a host, not one VM.

Capacity checks (admission, overcommit) compare the host before and after
the plan: an error only when the plan makes an over-the-limit host worse,
so a plan that lowers memory on an already tight host is never refused (the
rule's eased severity, a warning). `CAPACITY` errors block every planned
change on the host; the others block (or annotate) one VM.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hvdyn.core.findings import Finding, Severity
from hvdyn.core.model import Heartbeat, HostFacts, MemorySettings, VmPlan, VmState
from hvdyn.core.sizes import dm_maximums_mb, overcommit_ratio
from hvdyn.planning.checks.framework import Check, Hit, check

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


@check("HVD006", Severity.ERROR,
       "host admission: startup RAM of running VMs + reserve above host RAM "
       "(blocks the host; warning when the plan does not make it worse)",
       eased_to=Severity.WARNING)
def admission(ctx: HostContext) -> Iterable[Hit]:
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
        return [Hit(text)]
    return [Hit(text + "; not made worse", eased=True)]


@check("HVD007", Severity.ERROR,
       "sum of DM maximums / (host RAM - reserve) above max_overcommit "
       "(blocks the host; warning when not made worse)",
       eased_to=Severity.WARNING)
def overcommit(ctx: HostContext) -> Iterable[Hit]:
    limit = ctx.max_overcommit
    if limit is None:
        return []
    total, reserve = ctx.host.total_mb, ctx.reserve_mb
    before = overcommit_ratio(dm_maximums_mb(p.vm.memory for p in ctx.plans), total, reserve)
    planned = overcommit_ratio(dm_maximums_mb(after(p) for p in ctx.plans), total, reserve)
    if before is None or planned is None or planned <= limit:
        return []
    pool = total - reserve
    text = (
        f"Dynamic Memory maximums would add up to {planned:.2f}x the {pool}MB left after "
        f"the reserve, above the policy's max_overcommit {limit:g}"
    )
    if planned > before:
        return [Hit(text)]
    return [Hit(text + "; not made worse", eased=True)]


@check("HVD008", Severity.WARNING,
       "duplicate VM display names on a host (counter data ambiguous)")
def duplicate_names(ctx: HostContext) -> Iterable[Hit]:
    """One finding per display name that several VMs share, naming their ids."""
    ids: dict[str, list[str]] = {}
    for p in ctx.plans:
        ids.setdefault(p.vm.name, []).append(p.vm.id)
    return [
        Hit(
            f"{len(same)} VMs on this host are named {name!r} ({', '.join(same)}): "
            "counter samples (keyed by name) cannot tell them apart"
        )
        for name, same in ids.items()
        if len(same) > 1
    ]


# A clustered VM with work gets HVD010 when a restart is planned, else HVD009.


@check("HVD009", Severity.INFO,
       "clustered VM: apply refreshes the cluster's configuration copy")
def clustered_refresh(ctx: HostContext) -> Iterable[Hit]:
    return [
        Hit(
            "clustered VM: the apply script refreshes the cluster's copy of the "
            "configuration (Update-ClusterVirtualMachineConfiguration)",
            vm_id=p.vm.id,
        )
        for p in ctx.plans
        if p.vm.clustered and p.has_work and not p.restart
    ]


@check("HVD010", Severity.ERROR, "clustered VM would be restarted outside the cluster")
def clustered_restart(ctx: HostContext) -> Iterable[Hit]:
    return [
        Hit(
            "clustered VM: hvdyn does not restart it outside the cluster "
            "(the cluster would see a failure); stop it in Failover Cluster Manager",
            vm_id=p.vm.id,
        )
        for p in ctx.plans
        if p.vm.clustered and p.has_work and p.restart
    ]


def _unhealthy(ctx: HostContext) -> Iterable[tuple[VmPlan, str]]:
    """Running VMs with work whose heartbeat is not OK, and the heartbeat's label."""
    for p in ctx.plans:
        beat = p.vm.guest.heartbeat
        if not p.has_work or p.vm.state is not VmState.RUNNING or beat is Heartbeat.OK:
            continue
        yield p, "unknown" if beat is None else beat.name.lower()


@check("HVD011", Severity.ERROR, "restart planned but the heartbeat is not OK")
def restart_without_heartbeat(ctx: HostContext) -> Iterable[Hit]:
    return [
        Hit(
            f"heartbeat is {label}: a graceful shutdown and the check that the "
            "guest came back need working integration services",
            vm_id=p.vm.id,
        )
        for p, label in _unhealthy(ctx)
        if p.restart
    ]


@check("HVD012", Severity.WARNING, "enabling DM while the heartbeat is not OK")
def dm_without_heartbeat(ctx: HostContext) -> Iterable[Hit]:
    return [
        Hit(
            f"heartbeat is {label}: cannot confirm the guest's Dynamic Memory "
            "driver is alive",
            vm_id=p.vm.id,
        )
        for p, label in _unhealthy(ctx)
        if not p.restart and after(p).dynamic and not p.vm.memory.dynamic
    ]


@check("HVD014", Severity.WARNING,
       "the host could not answer part of discovery (e.g. the cluster check failed: "
       "apply will not stop any VM on it)")
def discovery_warnings(ctx: HostContext) -> Iterable[Hit]:
    """What discovery could not read (a failing cluster provider) reaches the plan output."""
    return [Hit(message) for message in ctx.host.warnings]


# In the order their findings are listed (and joined into a blocked change's reason).
HOST_CHECKS: tuple[Check[HostContext], ...] = (
    admission,
    overcommit,
    duplicate_names,
    clustered_refresh,
    clustered_restart,
    restart_without_heartbeat,
    dm_without_heartbeat,
    discovery_warnings,
)

# Errors of these block every planned change on the host, not one VM's.
CAPACITY = frozenset({admission.rule.id, overcommit.rule.id})


def check_host(ctx: HostContext) -> list[Finding]:
    """Every host check's findings."""
    return [finding for c in HOST_CHECKS for finding in c.run(ctx)]
