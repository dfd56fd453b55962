"""`hvdyn render`: the exact apply script per host, in review form; nothing is sent."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import click

from hvdyn.cli.context import load_targets
from hvdyn.cli.options import POLICY_ARGUMENT, common_options, settings_from
from hvdyn.cli.review import SNAPSHOT_OPTION, review_plan
from hvdyn.core.errors import EXIT_FAILED, EXIT_OK, RenderError, without_host
from hvdyn.core.fileio import write_atomic
from hvdyn.core.model import HostResult, HostStatus
from hvdyn.formats.render_dir import FILES_LINE, PLAN, README, create, prepare, remove_stale
from hvdyn.formats.results import results_json
from hvdyn.planning.plan import PlanOptions
from hvdyn.policy.evaluate import Policy
from hvdyn.powershell.params import ApplyOptions
from hvdyn.run.engine import RunOptions

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


@click.command("render")
@POLICY_ARGUMENT
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for <host>.ps1, plan.json and README.txt.",
)
@SNAPSHOT_OPTION
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
def command(
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
    results = review_plan(targets.policy, targets.hosts, settings, options, snapshot)
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
