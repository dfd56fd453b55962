"""Turn (current settings, desired settings, findings) into a plan per VM.

Pure: no IO. Every VM ends with either changes (each with a status) or a
no-op reason, so `plan` can always say why nothing happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from operator import attrgetter

from hvdyn.core.model import (
    FIELDS,
    OFFLINE_FIELDS,
    Change,
    ChangeStatus,
    Desired,
    DesiredValue,
    Finding,
    HostFacts,
    MemorySettings,
    SettingName,
    VmFacts,
    VmPlan,
    VmState,
    make_change,
    mark_planned,
)
from hvdyn.core.sizes import startup_above_maximum, stored_limits
from hvdyn.planning.checks import VmContext, check_vm


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    # Running VMs may be shut down for needs-off changes (--allow-restart, or the
    # rule's `restart: allowed`; `restart: never` wins over the flag).
    allow_restart: bool = False
    # Saved / Paused VMs are taken through the restart too only when asked
    # (--include-saved resumes then saves again; --include-paused resumes then pauses).
    include_saved: bool = False
    include_paused: bool = False


def target_settings(current: MemorySettings, desired: Desired) -> MemorySettings:
    """The full settings to write: desired where the policy manages a field, else current.

    Static VMs keep Limit = Reservation = VirtualQuantity (`stored_limits`);
    buffer and weight of a static VM are left as they are (`STATIC_INERT_FIELDS`).
    """
    values = desired.values  # Desired.get, without a method call per field
    wanted = values.get("dynamic")
    dynamic = current.dynamic if wanted is None else bool(wanted.value)
    startup = _int_or(values.get("startup_mb"), current.startup_mb)
    minimum, maximum = stored_limits(
        dynamic,
        startup,
        _int_or(values.get("minimum_mb"), current.minimum_mb),
        _int_or(values.get("maximum_mb"), current.maximum_mb),
    )
    if not dynamic:
        return _settings(False, startup, minimum, maximum, current.buffer, current.weight)
    return _settings(
        True,
        startup,
        minimum,
        maximum,
        _int_or(values.get("buffer"), current.buffer),
        _int_or(values.get("weight"), current.weight),
    )


def checked_target(current: MemorySettings, desired: Desired
                   ) -> tuple[MemorySettings, str | None]:
    """`target_settings`, and why Hyper-V would refuse them (None when it would not).

    A field the policy leaves alone keeps the VM's value, so a policy that is
    valid on its own can still give startup above maximum (e.g. it makes a VM
    with a stale Limit dynamic). Such a VM is left alone: `plan` blocks its
    changes, whatif keeps its settings.
    """
    target = target_settings(current, desired)
    return target, startup_above_maximum(target.dynamic, target.startup_mb, target.maximum_mb)


# Plans of a fleet hold a handful of distinct targets, and they are frozen: one shared
# instance each, as for changes (`make_change`).
@lru_cache(maxsize=4096, typed=True)
def _settings(
    dynamic: bool, startup: int, minimum: int, maximum: int, buffer: int, weight: int
) -> MemorySettings:
    return MemorySettings(
        dynamic=dynamic,
        startup_mb=startup,
        minimum_mb=minimum,
        maximum_mb=maximum,
        buffer=buffer,
        weight=weight,
    )


def _int_or(value: DesiredValue | None, fallback: int) -> int:
    return fallback if value is None else int(value.value)


# The six values of a MemorySettings in FIELDS order (one call instead of six getattr).
_VALUES = attrgetter(*FIELDS)
_FIELD_ORDER = {name: i for i, name in enumerate(FIELDS)}
_NEEDS_OFF = tuple(name in OFFLINE_FIELDS for name in FIELDS)


# One differing field: (name, current, desired, needs_off). Change objects are built
# once, with their final status, from these (a plan of 200,000 VMs builds many).
_Diff = tuple[SettingName, bool | int, bool | int, bool]


def _diff(current: MemorySettings, target: MemorySettings) -> list[_Diff]:
    return [
        (name, now, wanted, off)
        for name, now, wanted, off in zip(
            FIELDS, _VALUES(current), _VALUES(target), _NEEDS_OFF, strict=True
        )
        if now != wanted
    ]


def _with_status(diffs: list[_Diff], status: ChangeStatus, reason: str) -> tuple[Change, ...]:
    return tuple(
        make_change(name, now, wanted, off, status, reason) for name, now, wanted, off in diffs
    )


def plan_vm(
    vm: VmFacts,
    host: HostFacts,
    desired: Desired | None,
    options: PlanOptions,
    *,
    excluded: str | None = None,
    policy_error: str | None = None,
    unmanaged: str | None = None,
) -> tuple[VmPlan, list[Finding]]:
    """Plan one VM. Returns the plan and the findings of the safety checks.

    `unmanaged` says why the policy has no value for the VM, when it has none.
    """
    if excluded is not None:
        return VmPlan(vm=vm, reason=f"excluded by {excluded}"), []
    if desired is None or not desired.values:
        return VmPlan(vm=vm, reason=unmanaged or "no policy value applies to this VM"), []

    target, refused = checked_target(vm.memory, desired)
    changes = _diff(vm.memory, target)
    if not changes:
        return VmPlan(vm=vm, reason="compliant"), []

    if policy_error is None and refused is not None:
        policy_error = f"{refused}; set maximum in the policy for this VM"
    if policy_error is not None:
        blocked = _with_status(changes, ChangeStatus.BLOCKED, policy_error)
        return VmPlan(vm=vm, changes=blocked, reason=policy_error), []

    findings = check_vm(VmContext(vm=vm, target=target, host=host))
    errors = [f for f in findings if f.blocks]
    if errors:
        reason = "; ".join(f"{f.id}: {f.message}" for f in errors)
        return VmPlan(
            vm=vm, changes=_with_status(changes, ChangeStatus.BLOCKED, reason), reason=reason
        ), findings

    return _classify(vm, target, changes, options), findings


def _classify(
    vm: VmFacts,
    target: MemorySettings,
    changes: list[_Diff],
    options: PlanOptions,
) -> VmPlan:
    """Decide which changes go out now, which wait for the VM to be off."""
    offline = [c for c in changes if c[3]]
    online = [c for c in changes if not c[3]]
    state = vm.state

    if state is VmState.OFF:
        return VmPlan(
            vm=vm, changes=_with_status(changes, ChangeStatus.PLANNED, "VM is off"), target=target
        )
    if state.is_transitional or state is VmState.UNKNOWN:
        reason = f"VM is {state.label}; run again once it settles"
        return VmPlan(
            vm=vm, changes=_with_status(changes, ChangeStatus.PENDING, reason), reason=reason
        )
    restart = options.allow_restart and (
        state is VmState.RUNNING
        or (state is VmState.SAVED and options.include_saved)
        or (state is VmState.PAUSED and options.include_paused)
    )
    if state is VmState.SAVED and not (offline and restart):
        reason = "VM is saved: its memory settings are locked and hvdyn never discards saved state"
        if offline and options.allow_restart:
            reason += " (--include-saved resumes it, restarts it and saves it again)"
        return VmPlan(
            vm=vm, changes=_with_status(changes, ChangeStatus.PENDING, reason), reason=reason
        )
    if offline and restart:
        why = "restart: graceful shutdown, apply, start"
        if state is not VmState.RUNNING:
            why = f"restart: resume, graceful shutdown, apply, start, back to {state.label}"
        return VmPlan(
            vm=vm,
            changes=_with_status(changes, ChangeStatus.PLANNED, why),
            target=target,
            restart=True,
        )

    planned = list(_with_status(online, ChangeStatus.PLANNED, "tried online (buffer/weight)"))
    reason = ""
    if offline:
        if state is VmState.PAUSED:
            reason = "VM is paused: needs-off changes wait (hvdyn never stops a paused VM"
            reason += " without --include-paused)" if options.allow_restart else ")"
        else:
            reason = "needs the VM off (use --allow-restart, or stop the VM)"
        planned += _with_status(offline, ChangeStatus.PENDING, reason)
    online_target = vm.memory.with_values({name: wanted for name, _, wanted, _ in online})
    ordered = tuple(sorted(planned, key=lambda c: _FIELD_ORDER[c.field]))
    return VmPlan(vm=vm, changes=ordered, reason=reason, target=online_target if online else None)


def block_by_findings(
    plans: Sequence[VmPlan], findings: Sequence[Finding], capacity: frozenset[str]
) -> tuple[VmPlan, ...]:
    """Planned changes become blocked: all of a host's for a capacity error, else the VM's."""
    errors = [f for f in findings if f.blocks]
    host_wide = "; ".join(f"{f.id}: {f.message}" for f in errors if f.id in capacity)
    by_vm: dict[str | None, list[str]] = {}  # one pass, not one per VM (VMs x findings)
    for f in errors:
        by_vm.setdefault(f.vm_id, []).append(f"{f.id}: {f.message}")
    out: list[VmPlan] = []
    for vm_plan in plans:
        mine = "; ".join(by_vm.get(vm_plan.vm.id, ()))
        reason = "; ".join(r for r in (host_wide, mine) if r)
        if not reason or not vm_plan.has_work:
            out.append(vm_plan)
            continue
        changes = mark_planned(vm_plan.changes, ChangeStatus.BLOCKED, reason)
        out.append(replace(vm_plan, changes=changes, reason=reason, restart=False, target=None))
    return tuple(out)
