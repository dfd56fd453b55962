"""Plan and apply results on the terminal (table) and as JSON, and their exit code.

Exit codes (contract, README): 0 compliant / success; 1 a host failed or was
unreachable (or a VM failed); 2 drift or changes remain pending; 3 invalid
input. Failures win over drift. (`hvdyn report`'s charts are `report_page`.)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from hvdyn.core.errors import without_host
from hvdyn.core.findings import Finding, Severity
from hvdyn.core.model import (
    Change,
    ChangeStatus,
    HostResult,
    HostStatus,
    VmPlan,
    format_setting,
)
from hvdyn.formats.text import printable

_DRIFT = {ChangeStatus.PLANNED, ChangeStatus.PENDING, ChangeStatus.BLOCKED, ChangeStatus.CONFLICT}


# ---------------------------------------------------------------- summary + JSON


def summarize(results: Sequence[HostResult]) -> dict[str, int]:
    changes: Counter[ChangeStatus] = Counter()
    vms = failed_vms = 0
    for result in results:
        for vm in result.plan.vms:
            vms += 1
            statuses = [c.status for c in vm.changes]
            changes.update(statuses)
            if ChangeStatus.FAILED in statuses:
                failed_vms += 1
    failed_hosts = sum(
        1 for r in results if r.status in (HostStatus.FAILED, HostStatus.UNREACHABLE) and r.error
    )
    return {
        "hosts": len(results),
        "vms": vms,
        "changes": sum(changes.values()) - changes[ChangeStatus.APPLIED],
        "planned": changes[ChangeStatus.PLANNED],
        "applied": changes[ChangeStatus.APPLIED],
        "pending": changes[ChangeStatus.PENDING],
        "blocked": changes[ChangeStatus.BLOCKED],
        "conflicts": changes[ChangeStatus.CONFLICT],
        "failed": failed_vms + failed_hosts,
    }


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "field": change.field,
        "current": change.current,
        "desired": change.desired,
        "needs_off": change.needs_off,
        "status": str(change.status),
        "reason": change.reason,
    }


def _vm_json(vm: VmPlan, findings: Sequence[Finding]) -> dict[str, Any]:
    return {
        "id": vm.vm.id,
        "name": vm.vm.name,
        "state": vm.vm.state.label,
        "final_state": vm.final_state.label if vm.final_state is not None else None,
        "os": vm.vm.guest.os_name,
        "os_seen": vm.vm.guest_seen,  # set when the OS is remembered (VM not running)
        "changes": [_change_json(c) for c in vm.changes],
        "reason": vm.reason,
        "restart": vm.restart,
        "findings": [_finding_json(f) for f in findings if f.vm_id == vm.vm.id],
    }


def _finding_json(finding: Finding) -> dict[str, str]:
    return {"check": finding.id, "severity": str(finding.severity), "message": finding.message}


def results_json(results: Sequence[HostResult], *, include_scripts: bool = False,
                 run_id: int | None = None) -> dict[str, Any]:
    hosts = []
    for result in results:
        host: dict[str, Any] = {
            "host": result.host,
            "status": str(result.status),
            "error": result.error,
            "vms": [_vm_json(vm, result.findings) for vm in result.plan.vms],
            # host-wide findings (capacity checks): no VM of their own
            "findings": [_finding_json(f) for f in result.findings if f.vm_id is None],
        }
        if include_scripts:
            host["scripts"] = [{"name": s.name, "text": s.text} for s in result.scripts]
        hosts.append(host)
    document: dict[str, Any] = {"hosts": hosts, "summary": summarize(results)}
    if run_id is not None:
        document["run_id"] = run_id  # apply/rollback: the journal's run (`hvdyn runs show`)
    return document


def write_json(
    results: Sequence[HostResult], out: IO[str], *, include_scripts: bool = False,
    run_id: int | None = None,
) -> None:
    json.dump(
        results_json(results, include_scripts=include_scripts, run_id=run_id), out, indent=2,
        ensure_ascii=False,
    )
    out.write("\n")


# ---------------------------------------------------------------- table


_STATUS_STYLE = {
    ChangeStatus.PLANNED: "cyan",
    ChangeStatus.APPLIED: "green",
    ChangeStatus.PENDING: "yellow",
    ChangeStatus.BLOCKED: "magenta",
    ChangeStatus.CONFLICT: "yellow",
    ChangeStatus.FAILED: "red",
}
_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
_HOST_STYLE = {
    HostStatus.OK: "green",
    HostStatus.CHANGED: "green",
    HostStatus.DRIFT: "yellow",
    HostStatus.FAILED: "red",
    HostStatus.UNREACHABLE: "red",
}


def write_table(results: Sequence[HostResult], console: Console, *, verbose: bool = False,
                run_id: int | None = None) -> None:
    for result in results:
        vms = result.plan.vms
        with_changes = [vm for vm in vms if vm.changes]
        header = Text()
        header.append(result.host, style="bold")
        header.append(": ")
        header.append(str(result.status), style=_HOST_STYLE[result.status])
        header.append(f"  ({len(vms)} VMs, {len(with_changes)} with changes)")
        console.print(header)
        if result.error:
            _indented(console, Text("error: " + without_host(result.host, result.error),
                                    style="red"))
        if with_changes:
            _print_changes(with_changes, console)
        quiet = Counter(vm.reason or "no change" for vm in vms if not vm.changes)
        if verbose:
            for vm in vms:
                if not vm.changes:
                    _indented(console, Text(f"{printable(vm.vm.name)}: {vm.reason}", style="dim"))
        elif quiet:
            parts = ", ".join(f"{n} {reason}" for reason, n in sorted(quiet.items()))
            _indented(console, Text(f"unchanged: {parts}", style="dim"))
        names = {vm.vm.id: vm.vm.name for vm in vms}
        for finding in result.findings:
            # VM errors already show as the reason of blocked changes
            if finding.severity is not Severity.ERROR or finding.vm_id is None:
                style = _SEVERITY_STYLE[finding.severity]
                whose = "" if finding.vm_id is None else (
                    f" {printable(names.get(finding.vm_id, finding.vm_id))}")
                line = f"{finding.severity} {finding.id}{whose}: {finding.message}"
                _indented(console, Text(line, style=style))
        console.print()
    run = "" if run_id is None else f"; run {run_id}"
    console.print(Text("summary: " + summary_line(summarize(results)) + run, style="bold"))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _indented(console: Console, text: Text, indent: int = 2) -> None:
    """A line under a heading; where the terminal wraps it, it keeps its indent."""
    console.print(Padding(text, (0, 0, 0, indent), expand=False))


def summary_line(summary: dict[str, int]) -> str:
    """'3 hosts, 60 VMs: 68 applied, 81 pending, 0 failed' (zero counts left out)."""
    counts = [
        f"{summary[key]} {key}"
        for key in ("planned", "applied", "pending", "blocked", "conflicts")
        if summary[key]
    ]
    counts.append(f"{summary['failed']} failed")
    head = f"{_count(summary['hosts'], 'host')}, {_count(summary['vms'], 'VM')}"
    if not any(summary[k] for k in ("planned", "applied", "pending", "blocked", "conflicts")):
        head += ", no changes"
    return f"{head}: {', '.join(counts)}"


def _print_changes(vms: Sequence[VmPlan], console: Console) -> None:
    """One header line per VM (name, state, why), then one line per change."""
    for vm in vms:
        head = Text()
        head.append(printable(vm.vm.name), style="bold")
        head.append(f" ({vm.vm.state.label})")
        reasons = {c.reason for c in vm.changes}
        shared = reasons.pop() if len(reasons) == 1 else None
        if shared:
            head.append("  " + shared, style="dim")
        _indented(console, head)
        for change in vm.changes:
            line = Text()
            line.append(f"{change.field:<11}")
            arrow = (
                f"{format_setting(change.field, change.current)} -> "
                f"{format_setting(change.field, change.desired)}"
            )
            line.append(f"{arrow:<20} ")
            line.append(str(change.status), style=_STATUS_STYLE[change.status])
            if change.reason and shared is None:
                line.append("  " + change.reason, style="dim")
            _indented(console, line, 6)
