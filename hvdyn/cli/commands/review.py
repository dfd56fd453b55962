"""render and explain: the commands change control reads before anything runs."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from hvdyn.cli.context import load_targets, transport_factory
from hvdyn.cli.group import Settings, cli, common_options, settings_from, stdout_console
from hvdyn.core.errors import EXIT_FAILED, EXIT_OK, InputError, RenderError, without_host
from hvdyn.core.fileio import write_atomic
from hvdyn.core.model import HostResult, HostSpec, HostStatus
from hvdyn.formats.render_dir import FILES_LINE, PLAN, README, create, prepare, remove_stale
from hvdyn.formats.results import exit_code, format_value, printable, results_json
from hvdyn.history import open_store
from hvdyn.planning.plan import PlanOptions
from hvdyn.policy.evaluate import Policy
from hvdyn.powershell.params import ApplyOptions
from hvdyn.run.engine import Engine, RunOptions
from hvdyn.run.snapshot import load_snapshot

POLICY = click.argument("policy", type=click.Path(path_type=Path, dir_okay=False))
SNAPSHOT = click.option(
    "--snapshot",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Plan from a snapshot saved by `plan --save-snapshot` (no host contact).",
)

README_TEXT = """\
hvdyn render output
===================

One <host>.ps1 per host: the apply script for that host with every VM
planned there, in review form (comments kept). `hvdyn apply` sends the same
script in wire form (comments and blank lines removed), split in batches:
the VMs that need no restart in one script, then each VM to be restarted in
a script of its own, so the journal always knows which VM was in flight.

Run one by hand on its host, in an elevated PowerShell 2.0 console:

    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\\<host>.ps1

The scripts are pure ASCII with a UTF-8 byte order mark and CRLF line
ends, so PowerShell 2.0 and Notepad read them the same on any code page.
VM names that are not plain ASCII appear in the code as [char]0xNNNN
pieces (UTF-16 code units) and in the comment at the top as \\uXXXX
escapes; the plan.json names are JSON \\uXXXX escapes too.

Each script re-checks every VM before it writes anything: a VM whose
settings changed since this plan was made is reported as a conflict and
left alone. Output lines start with HVDYN1 (one JSON record each).

plan.json holds the plan these scripts were rendered from (hvdyn's JSON
format: hosts, VMs, changes with current/desired/status, summary).

Rendered from policy {policy} (sha256 {digest}).
Hosts: {hosts}

The files this render wrote; the next render into this directory removes
those of them it does not write again, and nothing else:
{files}
"""


def safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "_"


_NAME_MAX = 80  # characters of the host name kept in a review file name
_DOS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)]
)


def script_file_names(hosts: list[str]) -> dict[str, str]:
    """One review file name per host, unique on Windows, where the scripts are copied to.

    Windows ignores case and refuses DOS device names (con.ps1), and Linux refuses names
    over 255 bytes; hosts that differ only in unsafe characters would share a name. Such
    names get a digest of the host name, so every host keeps its own file.
    """
    base = {host: safe_filename(host) for host in hosts}
    seen: dict[str, int] = {}
    for name in base.values():
        seen[name.lower()] = seen.get(name.lower(), 0) + 1
    names: dict[str, str] = {}
    for host, name in base.items():
        if (seen[name.lower()] > 1 or len(name) > _NAME_MAX
                or name.split(".")[0].upper() in _DOS_DEVICES):
            digest = hashlib.sha256(host.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            name = f"{name[:_NAME_MAX]}-{digest}"
        names[host] = f"{name}.ps1"
    return names


def ascii_text(text: str) -> str:
    """Printable ASCII for a comment or README line: anything else as \\uXXXX.

    Control, bidi and other non-ASCII characters cannot end a comment line,
    reorder what a reviewer sees, or be misread in another code page.
    """
    out = []
    for char in text:
        if " " <= char <= "~" and char != "\\":
            out.append(char)
            continue
        units = char.encode("utf-16-le", errors="surrogatepass")
        for i in range(0, len(units), 2):
            out.append(f"\\u{int.from_bytes(units[i : i + 2], 'little'):04X}")
    return "".join(out)


def review_file_text(script_text: str, host: str, vms: list[tuple[str, str]]) -> str:
    """The review file: UTF-8 BOM, CRLF line ends, pure ASCII (asserted).

    A comment header lists the host and each VM the script touches, names
    escaped by `ascii_text`, so a reviewer sees what the [char] pieces spell.
    """
    header = [f"# hvdyn review script for host {ascii_text(host)}"]
    header += [f"#   VM {ascii_text(vm_id)}  {ascii_text(name)}" for vm_id, name in vms]
    body = "\n".join(header) + "\n" + script_text
    if not body.isascii():
        raise RenderError("a rendered script is not pure ASCII (quoting contract broken)")
    return "\ufeff" + body.replace("\r\n", "\n").replace("\n", "\r\n")




def _run(
    policy: Policy,
    hosts: list[HostSpec],
    settings: Settings,
    options: RunOptions,
    snapshot: Path | None,
) -> list[HostResult]:
    """Plan (and render) from a snapshot, or from the hosts with the guest memory read."""
    factory = transport_factory(settings.state_dir, ask_pass=settings.ask_pass)
    if snapshot is not None:
        return Engine(policy, factory, options, snapshot=load_snapshot(snapshot)).run(hosts)
    with open_store(settings.state_dir) as store:
        return Engine(policy, factory, options, guests=store).run(hosts)


@cli.command()
@POLICY
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for <host>.ps1, plan.json and README.txt.",
)
@SNAPSHOT
@click.option("--allow-restart", is_flag=True, help="Render as `apply --allow-restart` would.")
@click.option("--force-off", is_flag=True, help="Render as `apply --force-off` would.")
@click.option(
    "--force-shutdown", is_flag=True, help="Render as `apply --force-shutdown` would."
)
@click.option(
    "--shutdown-timeout",
    type=click.IntRange(10, 7200),
    default=600,
    show_default=True,
    help="Seconds the script waits for a guest to shut down.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into a directory that holds files hvdyn did not write (they are left alone).",
)
@common_options
def render(
    policy: Path,
    out_dir: Path,
    snapshot: Path | None,
    allow_restart: bool,
    force_off: bool,
    force_shutdown: bool,
    shutdown_timeout: int,
    force: bool,
    **kwargs: Any,
) -> int:
    """Write the exact apply script per host for review; change nothing.

    Rendering again into the same directory removes the scripts of the earlier
    render that are not written again; files hvdyn did not write are never
    touched (a directory holding any needs --force).
    """
    settings = settings_from(kwargs)
    targets = load_targets(policy, settings.inventory, settings.limit)
    will_write = {f"{safe_filename(h.name)}.ps1" for h in targets.hosts} | {README, PLAN}
    rdir = prepare(out_dir, will_write, force=force)
    options = RunOptions(
        mode="apply",
        dry_run=True,
        review=True,
        forks=settings.forks,
        plan=PlanOptions(allow_restart=allow_restart),
        apply=ApplyOptions(
            shutdown_timeout_s=shutdown_timeout,
            force_off=force_off,
            force_shutdown=force_shutdown,
        ),
    )
    results = _run(targets.policy, targets.hosts, settings, options, snapshot)
    if create(rdir):
        click.echo(f"created directory {out_dir}", err=True)
    written = _write_render(out_dir, targets.policy, results)
    removed = remove_stale(rdir, [*written, PLAN, README])
    for result in results:
        if result.error:
            click.echo(f"hvdyn: {result.host}: {without_host(result.host, result.error)}",
                       err=True)
    click.echo(f"wrote {len(written)} scripts, plan.json and README.txt to {out_dir}")
    if removed:
        click.echo(f"removed {len(removed)} files of an earlier render: {', '.join(removed)}")
    if rdir.foreign:
        click.echo(f"left alone {len(rdir.foreign)} files hvdyn did not write", err=True)
    failed = any(r.status in (HostStatus.FAILED, HostStatus.UNREACHABLE) for r in results)
    return EXIT_FAILED if failed else EXIT_OK


def _write_render(out_dir: Path, policy: Policy, results: list[HostResult]) -> list[str]:
    written: list[str] = []
    file_names = script_file_names([result.host for result in results])
    for result in results:
        vms = [(v.vm.id, v.vm.name) for v in result.plan.vms if v.has_work]
        for script in result.scripts:
            name = file_names[result.host]
            write_atomic(out_dir / name, review_file_text(script.text, result.host, vms))
            written.append(name)
    plan_text = json.dumps(results_json(results), indent=2, ensure_ascii=True) + "\n"
    write_atomic(out_dir / PLAN, plan_text.replace("\n", "\r\n"))
    readme = README_TEXT.format(
        policy=ascii_text(policy.path.name),
        digest=policy.digest,
        hosts=", ".join(written) or "none",
        files=FILES_LINE + ", ".join([*written, PLAN, README]),
    )
    write_atomic(out_dir / README, readme.replace("\n", "\r\n"))
    return written


@cli.command()
@POLICY
@click.option(
    "--vm",
    "vm_glob",
    required=True,
    metavar="GLOB",
    help="VM display name or GUID (glob, case-insensitive).",
)
@SNAPSHOT
@common_options
def explain(policy: Path, vm_glob: str, snapshot: Path | None, **kwargs: Any) -> int:
    """Show where each desired value of a VM comes from (defaults or which rule)."""
    settings = settings_from(kwargs)
    targets = load_targets(policy, settings.inventory, settings.limit)
    options = RunOptions(mode="plan", forks=settings.forks)
    results = _run(targets.policy, targets.hosts, settings, options, snapshot)
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
                    f"  {name:<11} {format_value(name, entry['value']):<9} "
                    f"current {format_value(name, vm['current'][name]):<9} "
                    f"from {entry['source']} {where}".rstrip()
                )
        if vm["error"]:
            console.print(Text(f"  error: {vm['error']}", style="red"))
        console.print(f"  plan: {vm['plan']}")
        console.print()
