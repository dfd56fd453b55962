"""plan_vm: which changes go out now, which wait, which are refused, and why."""

from __future__ import annotations

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
    VmState,
)
from hvdyn.planning.plan import PlanOptions, checked_target, plan_vm, target_settings

HOST = HostFacts(name="hv01", total_mb=65536, free_mb=30000)
W7 = GuestInfo(
    os_name="Windows 7 Enterprise", arch="x64", ic_version="6.1.7601.17514", heartbeat=Heartbeat.OK
)


def settings(**kw: object) -> MemorySettings:
    base: dict[str, object] = dict(
        dynamic=True, startup_mb=1024, minimum_mb=1024, maximum_mb=4096, buffer=20, weight=5000
    )
    base.update(kw)
    return MemorySettings(**base)  # type: ignore[arg-type]


def vm(state: VmState = VmState.RUNNING, guest: GuestInfo = W7, **kw: object) -> VmFacts:
    return VmFacts(
        id="0F6A1C2D-0000-4000-8000-000000000001",
        name="desk-001",
        state=state,
        memory=settings(**kw),
        guest=guest,
    )


def desired(**values: bool | int) -> Desired:
    src = Provenance(source="test")
    return Desired(values={k: DesiredValue(value=v, provenance=src) for k, v in values.items()})


def fields(plan_changes: tuple) -> dict[str, tuple[object, object, ChangeStatus]]:  # type: ignore[type-arg]
    return {c.field: (c.current, c.desired, c.status) for c in plan_changes}


def test_compliant_vm_is_a_noop_with_reason() -> None:
    p, findings = plan_vm(vm(), HOST, desired(buffer=20, weight=5000), PlanOptions())
    assert p.changes == () and p.reason == "compliant" and not findings


def test_excluded_vm_says_by_what() -> None:
    p, _ = plan_vm(vm(), HOST, None, PlanOptions(), excluded="exclude[0] (p.yaml:9)")
    assert p.changes == () and p.reason == "excluded by exclude[0] (p.yaml:9)"


def test_online_fields_on_running_vm_are_tried_online() -> None:
    p, _ = plan_vm(vm(), HOST, desired(buffer=10, weight=3000), PlanOptions())
    assert fields(p.changes) == {
        "buffer": (20, 10, ChangeStatus.PLANNED),
        "weight": (5000, 3000, ChangeStatus.PLANNED),
    }
    assert p.target == settings(buffer=10, weight=3000) and not p.restart


def test_needs_off_change_on_running_vm_waits_without_allow_restart() -> None:
    p, _ = plan_vm(vm(), HOST, desired(startup_mb=512, minimum_mb=512, buffer=10), PlanOptions())
    got = fields(p.changes)
    assert got["startup_mb"] == (1024, 512, ChangeStatus.PENDING)
    assert got["minimum_mb"] == (1024, 512, ChangeStatus.PENDING)
    assert got["buffer"] == (20, 10, ChangeStatus.PLANNED)
    assert "--allow-restart" in p.reason
    # Only the online part is written now: the offline fields keep their current values.
    assert p.target == settings(buffer=10)


def test_allow_restart_plans_a_restart_for_needs_off_changes() -> None:
    p, _ = plan_vm(
        vm(), HOST, desired(startup_mb=512, minimum_mb=512), PlanOptions(allow_restart=True)
    )
    assert {c.status for c in p.changes} == {ChangeStatus.PLANNED}
    assert p.restart and p.target == settings(startup_mb=512, minimum_mb=512)


def test_off_vm_gets_everything_without_restart() -> None:
    p, _ = plan_vm(
        vm(state=VmState.OFF), HOST, desired(dynamic=False, startup_mb=2048), PlanOptions()
    )
    assert not p.restart
    assert p.target == settings(dynamic=False, startup_mb=2048, minimum_mb=2048, maximum_mb=2048)
    assert {c.status for c in p.changes} == {ChangeStatus.PLANNED}


def test_saved_vm_is_never_touched() -> None:
    p, _ = plan_vm(
        vm(state=VmState.SAVED), HOST, desired(buffer=10), PlanOptions(allow_restart=True)
    )
    assert {c.status for c in p.changes} == {ChangeStatus.PENDING}
    assert "saved" in p.reason and p.target is None


def test_paused_vm_is_not_shut_down_even_with_allow_restart() -> None:
    p, _ = plan_vm(
        vm(state=VmState.PAUSED),
        HOST,
        desired(maximum_mb=8192, weight=1),
        PlanOptions(allow_restart=True),
    )
    got = fields(p.changes)
    assert got["maximum_mb"][2] is ChangeStatus.PENDING
    assert got["weight"][2] is ChangeStatus.PLANNED
    assert not p.restart and "paused" in p.reason


def test_transitional_state_waits() -> None:
    p, _ = plan_vm(vm(state=VmState.STOPPING), HOST, desired(weight=1), PlanOptions())
    assert {c.status for c in p.changes} == {ChangeStatus.PENDING}
    assert "stopping" in p.reason


def test_unsupported_guest_blocks_dynamic() -> None:
    guest = GuestInfo(
        os_name="Windows 7 Professional",
        arch="x64",
        ic_version="6.1.7601.17514",
        heartbeat=Heartbeat.OK,
    )
    p, findings = plan_vm(
        vm(guest=guest, dynamic=False, maximum_mb=1024),
        HOST,
        desired(dynamic=True, maximum_mb=4096),
        PlanOptions(allow_restart=True),
    )
    assert {c.status for c in p.changes} == {ChangeStatus.BLOCKED}
    assert "HVD001" in p.reason and "Windows 7 Professional" in p.reason
    assert [f.id for f in findings] == ["HVD001"]


def test_x86_client_above_4gb_is_blocked() -> None:
    guest = GuestInfo(
        os_name="Windows 7 Enterprise",
        arch="x86",
        ic_version="6.1.7601.17514",
        heartbeat=Heartbeat.OK,
    )
    p, _ = plan_vm(
        vm(state=VmState.OFF, guest=guest), HOST, desired(maximum_mb=8192), PlanOptions()
    )
    assert {c.status for c in p.changes} == {ChangeStatus.BLOCKED} and "KB983545" in p.reason


def test_startup_above_current_maximum_is_blocked_with_advice() -> None:
    p, _ = plan_vm(
        vm(state=VmState.OFF), HOST, desired(startup_mb=8192, minimum_mb=8192), PlanOptions()
    )
    assert {c.status for c in p.changes} == {ChangeStatus.BLOCKED}
    assert p.reason == (
        "startup 8GB is larger than maximum 4GB; set maximum in the policy for this VM"
    )


def test_checked_target_says_why_hyper_v_would_refuse_the_target() -> None:
    """A field the policy leaves alone keeps its value, so startup can end above maximum."""
    target, refused = checked_target(settings(), desired(startup_mb=8192))
    assert target == settings(startup_mb=8192)
    assert refused == "startup 8GB is larger than maximum 4GB"


def test_checked_target_accepts_a_target_hyper_v_takes() -> None:
    assert checked_target(settings(), desired(startup_mb=2048)) == (
        settings(startup_mb=2048), None
    )
    # A static VM's maximum follows its startup: never refused.
    target, refused = checked_target(settings(), desired(dynamic=False, startup_mb=8192))
    assert target.maximum_mb == 8192 and refused is None


def test_policy_error_blocks_the_vm() -> None:
    p, _ = plan_vm(vm(), HOST, desired(weight=1), PlanOptions(), policy_error="bad combination")
    assert p.reason == "bad combination" and {c.status for c in p.changes} == {ChangeStatus.BLOCKED}


def test_static_target_pins_maximum_and_minimum_to_startup() -> None:
    t = target_settings(settings(buffer=33, weight=7), desired(dynamic=False, startup_mb=8192))
    assert t == settings(
        dynamic=False, startup_mb=8192, minimum_mb=8192, maximum_mb=8192, buffer=33, weight=7
    )


def test_unmanaged_fields_keep_current_values() -> None:
    t = target_settings(settings(), desired(weight=100))
    assert t == settings(weight=100)


def test_enabling_dm_on_an_off_vm_with_unknown_guest_warns_but_does_not_block() -> None:
    off_unknown = vm(state=VmState.OFF, guest=GuestInfo(), dynamic=False, maximum_mb=1024)
    p, findings = plan_vm(off_unknown, HOST, desired(dynamic=True, maximum_mb=4096), PlanOptions())
    assert {c.status for c in p.changes} == {ChangeStatus.PLANNED}
    assert [(f.id, str(f.severity)) for f in findings] == [("HVD013", "warning")]
