"""Judge what an apply script reported: read-back against the target, per VM and per host.

Why apart from the executor: "applied" is only believed when the settings the
host read back after writing equal the planned target, and that rule must be
the same for every batch, whole or salvaged after a lost connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from hvdyn.core.findings import Finding
from hvdyn.core.model import (
    FIELDS,
    Change,
    ChangeStatus,
    HostPlan,
    HostResult,
    HostStatus,
    Script,
    VmPlan,
    VmState,
    mark_planned,
)
from hvdyn.core.vocab import ResultOutcome
from hvdyn.powershell.records import ErrorRecord, ParsedOutput, ResultRecord

# What each reported outcome makes of a VM's planned changes (before the read-back check).
STATUS_OF_OUTCOME = {
    ResultOutcome.APPLIED: ChangeStatus.APPLIED,
    ResultOutcome.UNCHANGED: ChangeStatus.APPLIED,
    ResultOutcome.CONFLICT: ChangeStatus.CONFLICT,
    ResultOutcome.PENDING: ChangeStatus.PENDING,
    ResultOutcome.FAILED: ChangeStatus.FAILED,
}


def verify(vm_plan: VmPlan, record: ResultRecord) -> tuple[ChangeStatus, str]:
    """Read-back must equal the target, else the VM failed."""
    status = STATUS_OF_OUTCOME[record.outcome]
    message = record.message or ""
    if record.code is not None and record.outcome is not ResultOutcome.APPLIED:
        message = f"{message} (code {record.code})".strip()
    if status is ChangeStatus.APPLIED:
        if record.settings is None:
            return ChangeStatus.FAILED, "host returned no read-back of the settings"
        target = vm_plan.target
        assert target is not None
        wrong = [
            f"{name} is {record.settings.get(name)}, wanted {target.get(name)}"
            for name in FIELDS
            if record.settings.get(name) != target.get(name)
        ]
        if wrong:
            return ChangeStatus.FAILED, "read-back differs: " + "; ".join(wrong)
        message = message or ("applied (VM restarted)" if record.restarted else "applied")
    return status, message


def merge_results(plan: HostPlan, parsed: ParsedOutput) -> HostPlan:
    """Fold the apply script's result records into the plan's change statuses."""
    by_id = {r.id.lower(): r for r in parsed.of_type(ResultRecord)}
    errors = {(e.id or "").lower(): e for e in parsed.of_type(ErrorRecord)}
    merged: list[VmPlan] = []
    for vm_plan in plan.vms:
        if not vm_plan.has_work:
            merged.append(vm_plan)
            continue
        key = vm_plan.vm.id.lower()
        record = by_id.get(key)
        final_state: VmState | None = None
        if record is None:
            err = errors.get(key)
            status = ChangeStatus.FAILED
            message = err.message if err else "no result from the host for this VM"
        else:
            status, message = verify(vm_plan, record)
            final_state = VmState.from_code(record.state)
        changes = mark_planned(vm_plan.changes, status, message)
        merged.append(
            replace(
                vm_plan, changes=changes, reason=message or vm_plan.reason, final_state=final_state
            )
        )
    return replace(plan, vms=tuple(merged))


def _all_changes(plan: HostPlan) -> Iterable[Change]:
    for vm in plan.vms:
        yield from vm.changes


def host_status(plan: HostPlan) -> HostStatus:
    """A host's status from its changes: any failure, else any drift, else changed, else ok."""
    statuses = {c.status for c in _all_changes(plan)}
    if ChangeStatus.FAILED in statuses:
        return HostStatus.FAILED
    if statuses & {
        ChangeStatus.PLANNED,
        ChangeStatus.PENDING,
        ChangeStatus.BLOCKED,
        ChangeStatus.CONFLICT,
    }:
        return HostStatus.DRIFT
    if ChangeStatus.APPLIED in statuses:
        return HostStatus.CHANGED
    return HostStatus.OK


def host_result(
    plan: HostPlan, findings: list[Finding], *, scripts: tuple[Script, ...]
) -> HostResult:
    """A host's result: its plan (as far as it was applied), findings, the scripts sent."""
    return HostResult(
        host=plan.host,
        status=host_status(plan),
        plan=plan,
        error=None,
        findings=tuple(findings),
        scripts=scripts,
    )
