"""`hvdyn explain`: where each desired value of a VM comes from (defaults or which rule)."""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from hvdyn.cli.context import load_targets
from hvdyn.cli.options import POLICY_ARGUMENT, common_options, settings_from
from hvdyn.cli.output import stdout_console
from hvdyn.cli.review import SNAPSHOT_OPTION, review_plan
from hvdyn.core.errors import EXIT_OK, InputError, without_host
from hvdyn.core.model import exit_code, format_setting
from hvdyn.formats.text import printable
from hvdyn.run.engine import RunOptions


@click.command("explain")
@POLICY_ARGUMENT
@click.option(
    "--vm",
    "vm_glob",
    required=True,
    metavar="GLOB",
    help="VM display name or GUID (glob, case-insensitive).",
)
@SNAPSHOT_OPTION
@common_options
def command(policy: Path, vm_glob: str, snapshot: Path | None, **kwargs: Any) -> int:
    """Show where each desired value of a VM comes from (defaults or which rule)."""
    settings = settings_from(kwargs)
    targets = load_targets(policy, settings.inventory, settings.limit)
    options = RunOptions(mode="plan", forks=settings.forks)
    results = review_plan(targets.policy, targets.hosts, settings, options, snapshot)
    pattern = re.compile(fnmatch.translate(vm_glob), re.IGNORECASE)
    specs = {spec.name: spec for spec in targets.hosts}
    found: list[dict[str, Any]] = []
    for result in results:
        if result.error:
            click.echo(f"hvdyn: {result.host}: {without_host(result.host, result.error)}",
                       err=True)
        for vm_plan in result.plan.vms:
            vm = vm_plan.vm
            if not (pattern.match(vm.name) or pattern.match(vm.id)):
                continue
            resolution = targets.policy.resolve(vm, specs[result.host])
            desired = resolution.desired
            found.append(
                {
                    "host": result.host,
                    "id": vm.id,
                    "name": vm.name,
                    "state": vm.state.label,
                    "os": vm.guest.os_name,
                    "os_seen": vm.guest_seen,
                    "excluded_by": None
                    if resolution.excluded_by is None
                    else str(resolution.excluded_by),
                    "rules": list(desired.rules) if desired else list(resolution.matched),
                    "undecided": list(resolution.undecided),
                    "left_alone": resolution.note,
                    "values": {}
                    if desired is None
                    else {
                        name: {
                            "value": dv.value,
                            "source": dv.provenance.source,
                            "file": dv.provenance.file,
                            "line": dv.provenance.line,
                        }
                        for name, dv in desired.values.items()
                    },
                    "current": vm.memory.as_dict(),
                    "error": resolution.error,
                    "plan": vm_plan.reason
                    or ", ".join(f"{c.field} {c.status}" for c in vm_plan.changes),
                }
            )
    if not found:
        raise InputError(f"no VM matches {vm_glob!r} on the selected hosts")
    if settings.fmt == "json":
        json.dump({"vms": found}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_explain(found)
    return exit_code(results) if any(r.error for r in results) else EXIT_OK


def _print_explain(found: list[dict[str, Any]]) -> None:
    console = stdout_console()
    for vm in found:
        head = Text()
        head.append(f"{vm['host']} / {printable(vm['name'])}", style="bold")
        head.append(f"  {vm['id']}  {vm['state']}  {vm['os'] or 'guest OS unknown'}")
        if vm["os_seen"]:
            head.append(f" (last reported {vm['os_seen']}; the VM is not running)")
        console.print(head)
        if vm["excluded_by"]:
            console.print(f"  excluded by {vm['excluded_by']}: hvdyn leaves it alone")
        elif vm["left_alone"]:
            console.print(f"  rules matched: {', '.join(vm['rules']) or 'none'}")
            console.print(f"  cannot be decided without the guest OS: {', '.join(vm['undecided'])}")
            console.print(f"  {vm['left_alone']}")
        else:
            console.print(f"  rules matched: {', '.join(vm['rules']) or 'none (defaults only)'}")
            for name, entry in vm["values"].items():
                where = f"{entry['file']}:{entry['line']}" if entry["file"] else ""
                console.print(
                    f"  {name:<11} {format_setting(name, entry['value']):<9} "
                    f"current {format_setting(name, vm['current'][name]):<9} "
                    f"from {entry['source']} {where}".rstrip()
                )
        if vm["error"]:
            console.print(Text(f"  error: {vm['error']}", style="red"))
        console.print(f"  plan: {vm['plan']}")
        console.print()
