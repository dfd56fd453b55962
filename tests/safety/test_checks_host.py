"""Host-level checks: each fires on its case, stays quiet otherwise, and blocks as documented."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from hvdyn.core.findings import Severity
from hvdyn.core.model import (
    ChangeStatus,
    Desired,
    DesiredValue,
    GuestInfo,
    Heartbeat,
    HostFacts,
    MemorySettings,
    Provenance,
    VmFacts,
    VmPlan,
    VmState,
)
from hvdyn.planning.checks import CAPACITY, HostContext, check_host
from hvdyn.planning.checks.host import dm_without_heartbeat
from hvdyn.planning.plan import PlanOptions, block_by_findings, plan_vm

HOST = HostFacts(name="h", total_mb=16384, free_mb=8192)
SRC = Provenance(source="test")


def _vm(i: int, *, startup: int = 1024, maximum: int = 4096, name: str | None = None,
        state: VmState = VmState.RUNNING, clustered: bool = False,
        heartbeat: Heartbeat | None = Heartbeat.OK) -> VmFacts:
    return VmFacts(
        id=f"00000000-0000-4000-8000-{i:012d}", name=name or f"vm{i}", state=state,
        memory=MemorySettings(dynamic=True, startup_mb=startup, minimum_mb=startup,
                              maximum_mb=maximum, buffer=20, weight=5000),
        guest=GuestInfo(os_name="Windows Server 2008 R2 Enterprise", arch="x64",
                        ic_version="6.1.7601.17514", heartbeat=heartbeat),
        clustered=clustered,
    )


def _plan(vm: VmFacts, restart: bool = False, **want: int) -> VmPlan:
    desired = Desired(values={k: DesiredValue(value=v, provenance=SRC) for k, v in want.items()})
    plan, _ = plan_vm(vm, HOST, desired, PlanOptions(allow_restart=restart))
    return plan


def _ids(plans: list[VmPlan], overcommit: float | None = None) -> dict[str, Severity]:
    ctx = HostContext(host=HOST, plans=tuple(plans), reserve_mb=2048, max_overcommit=overcommit)
    return {f.id: f.severity for f in check_host(ctx)}


def test_admission_error_only_when_the_plan_makes_it_worse() -> None:
    vms = [_vm(i, startup=4096, maximum=8192) for i in range(3)]  # 12GB + 2GB of 16GB
    grow = [_plan(vms[0], True, startup_mb=7168, minimum_mb=7168)] + [_plan(v) for v in vms[1:]]
    assert _ids(grow) == {"HVD006": Severity.ERROR}
    blocked = block_by_findings(grow, check_host(HostContext(
        host=HOST, plans=tuple(grow), reserve_mb=2048, max_overcommit=None)), CAPACITY)
    assert {c.status for p in blocked for c in p.changes} == {ChangeStatus.BLOCKED}
    tight = [_vm(i, startup=6144, maximum=8192) for i in range(3)]  # already over
    shrink = [_plan(tight[0], True, startup_mb=4096, minimum_mb=4096)]
    shrink += [_plan(v) for v in tight[1:]]
    assert _ids(shrink) == {"HVD006": Severity.WARNING}
    assert _ids([_plan(v) for v in vms]) == {}


def test_overcommit_against_the_policy_limit() -> None:
    vms = [_vm(i, maximum=8192) for i in range(3)]  # 24GB / 14GB = 1.71
    assert _ids([_plan(v) for v in vms], overcommit=2.0) == {}
    more = [_plan(vms[0], True, maximum_mb=16384)] + [_plan(v) for v in vms[1:]]
    assert _ids(more, overcommit=2.0) == {"HVD007": Severity.ERROR}
    assert _ids(more, overcommit=None) == {}


def test_duplicate_names_clusters_heartbeat() -> None:
    twins = [_plan(_vm(1, name="same")), _plan(_vm(2, name="same"))]
    assert _ids(twins) == {"HVD008": Severity.WARNING}
    clu = _vm(3, clustered=True)
    assert _ids([_plan(clu, weight=100)]) == {"HVD009": Severity.INFO}
    assert _ids([_plan(clu, True, startup_mb=2048, minimum_mb=2048)]) == {
        "HVD010": Severity.ERROR}
    lost = _vm(4, heartbeat=Heartbeat.LOST_COMMUNICATION)
    assert _ids([_plan(lost, True, startup_mb=2048, minimum_mb=2048)]) == {
        "HVD011": Severity.ERROR}
    off = replace(lost, state=VmState.OFF)
    assert _ids([_plan(off, True, startup_mb=2048, minimum_mb=2048)]) == {}


def test_vm_findings_are_printed_with_their_vm_and_duplicates_once() -> None:
    from hvdyn.core.findings import Finding
    from hvdyn.core.model import HostPlan, HostResult, HostStatus
    from hvdyn.formats.results import write_table

    twins = [_plan(_vm(1, name="same")), _plan(_vm(2, name="same")), _plan(_vm(3))]
    ctx = HostContext(host=HOST, plans=tuple(twins), reserve_mb=2048, max_overcommit=None)
    found = check_host(ctx)
    assert [f.id for f in found] == ["HVD008"]  # once per shared name, not once per VM
    assert twins[0].vm.id in found[0].message and twins[1].vm.id in found[0].message
    note = Finding(rule=dm_without_heartbeat.rule, message="heartbeat is lost",
                   vm_id=twins[2].vm.id)
    result = HostResult(host=HOST.name, status=HostStatus.OK,
                        plan=HostPlan(host=HOST.name, facts=None, vms=tuple(twins)),
                        findings=(*found, note))
    out = io.StringIO()
    write_table([result], Console(file=out, width=200, color_system=None))
    assert "  warning HVD012 vm3: heartbeat is lost" in out.getvalue()
    assert out.getvalue().count("HVD008") == 1
