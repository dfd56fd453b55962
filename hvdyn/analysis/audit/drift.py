"""Drift and configuration findings: what differs from the policy, what the host holds.

Drift reuses the engine in plan mode, so "differs from the policy" means
exactly what `hvdyn plan` would change.
"""

from __future__ import annotations

from hvdyn.analysis.audit.rules import DM_UNUSABLE, MINIMUM_DRIFT, OVERCOMMITTED, SETTING_DRIFT
from hvdyn.core.findings import Finding
from hvdyn.core.model import HostFacts, HostResult, format_mb, format_setting
from hvdyn.core.sizes import dm_maximums_mb, overcommit_ratio
from hvdyn.planning.checks import guest_dm_support
from hvdyn.policy.evaluate import Policy


def drift_findings(result: HostResult) -> list[Finding]:
    """One finding per planned/pending/blocked change of each VM."""
    findings: list[Finding] = []
    for vm_plan in result.plan.vms:
        vm = vm_plan.vm
        for change in vm_plan.changes:
            minimum_off = change.field == "minimum_mb" and vm.memory.minimum_mb != (
                vm.memory.startup_mb
            )
            what = format_setting(change.field, change.current)
            want = format_setting(change.field, change.desired)
            status = f" ({change.status}: {change.reason})" if change.reason else ""
            if minimum_off:
                findings.append(Finding(
                    rule=MINIMUM_DRIFT, host=result.host, vm_id=vm.id, vm_name=vm.name,
                    message=f"minimum is {what} but startup is "
                            f"{format_mb(vm.memory.startup_mb)}; policy wants {want}{status}",
                    remediation="run `hvdyn apply` (needs the VM off: --allow-restart)",
                ))
                continue
            findings.append(Finding(
                rule=SETTING_DRIFT, host=result.host, vm_id=vm.id, vm_name=vm.name,
                message=f"{change.field} is {what}, policy wants {want}{status}",
                remediation="run `hvdyn apply`" + (
                    " (needs the VM off: --allow-restart)" if change.needs_off else ""),
            ))
    return findings


def host_overcommit(facts: HostFacts, reserve_mb: int) -> float | None:
    """The host's `overcommit_ratio` with the settings it holds now."""
    return overcommit_ratio(dm_maximums_mb(vm.memory for vm in facts.vms), facts.total_mb,
                            reserve_mb)


def config_findings(facts: HostFacts, policy: Policy) -> list[Finding]:
    findings: list[Finding] = []
    ratio = host_overcommit(facts, policy.host_reserve_mb)
    if ratio is not None and policy.max_overcommit is not None and ratio > policy.max_overcommit:
        findings.append(Finding(
            rule=OVERCOMMITTED, host=facts.name,
            message=f"DM maximums add up to {ratio:.2f}x of RAM minus reserve "
                    f"({format_mb(facts.total_mb)} - {format_mb(policy.host_reserve_mb)}); "
                    f"the policy allows {policy.max_overcommit:g}x",
            remediation="lower maximums in the policy or raise host.max_overcommit",
        ))
    for vm in facts.vms:
        if vm.memory.dynamic and guest_dm_support(vm.guest.os_name) is False:
            findings.append(Finding(
                rule=DM_UNUSABLE, host=facts.name, vm_id=vm.id, vm_name=vm.name,
                message=f"Dynamic Memory is on but {vm.guest.os_name!r} cannot use it: the VM "
                        "is stuck at its startup memory",
                remediation="make the VM static in the policy (dynamic: false) and apply",
            ))
    return findings
