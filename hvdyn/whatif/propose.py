"""What a policy would set on each VM, worked out from the store alone.

The VM is described as hvdyn last saw it (its newest settings row and the
guest OS its integration services last reported), then the policy is
resolved exactly as `plan` resolves it. A VM the policy leaves alone
(excluded, OS unknown, a policy error) keeps its settings, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from hvdyn.core.model import GuestInfo, HostSpec, MemorySettings, VmFacts, VmState
from hvdyn.history.rows import VmSettingsRow
from hvdyn.planning.plan import checked_target
from hvdyn.policy.evaluate import Policy


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    vm_id: str
    current: MemorySettings
    target: MemorySettings
    rules: tuple[str, ...] = ()
    note: str = ""  # why the VM keeps its settings, when it does

    @property
    def changes(self) -> bool:
        return self.target != self.current


def vm_facts(row: VmSettingsRow, guest: GuestInfo | None) -> VmFacts:
    settings = MemorySettings(dynamic=bool(row.dynamic), startup_mb=row.startup_mb,
                              minimum_mb=row.minimum_mb, maximum_mb=row.maximum_mb,
                              buffer=row.buffer, weight=row.weight)
    if guest is None and row.os:
        guest = GuestInfo(os_name=row.os, arch=row.arch)
    return VmFacts(id=row.vm_id.upper(), name=row.vm_name, state=VmState.from_code(row.state),
                   memory=settings, guest=guest or GuestInfo())


def propose(policy: Policy, spec: HostSpec, rows: list[VmSettingsRow],
            guests: dict[str, GuestInfo]) -> dict[str, Proposal]:
    """VM id (upper case) -> the settings the policy would give it."""
    out: dict[str, Proposal] = {}
    for row in rows:
        vm = vm_facts(row, guests.get(row.vm_id.upper()))
        resolution = policy.resolve(vm, spec)
        note = ""
        target = vm.memory
        rules: tuple[str, ...] = ()
        if resolution.excluded_by is not None:
            note = f"excluded by {resolution.excluded_by}"
        elif resolution.error is not None:
            note = f"left alone: {resolution.error}"
        elif resolution.desired is None or not resolution.desired.values:
            note = resolution.note or "no policy value applies to this VM"
        else:
            target, refused = checked_target(vm.memory, resolution.desired)
            rules = resolution.desired.rules
            if refused is not None:
                note = f"left alone: {refused}"
                target = vm.memory
        out[vm.id] = Proposal(vm_id=vm.id, current=vm.memory, target=target, rules=rules,
                              note=note)
    return out
