"""`hvdyn probe`: read-only checks of what only a real host can answer."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from hvdyn.cli.context import load_hosts
from hvdyn.cli.options import common_options, settings_from
from hvdyn.cli.output import stdout_console
from hvdyn.core.errors import EXIT_FAILED, EXIT_OK
from hvdyn.core.vocab import ProbeStatus
from hvdyn.formats.text import printable
from hvdyn.inventory.credentials import make_password_resolver
from hvdyn.run.probe import DEFAULT_TIMEOUT_S, ProbeResult, probe_host
from hvdyn.run.runtime import fan_out
from hvdyn.transport import TransportContext

_STYLE = {ProbeStatus.OK: "green", ProbeStatus.NO: "yellow", ProbeStatus.ERROR: "red"}


@click.command("probe")
@common_options
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(1, 3600),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds per script run on a host.",
)
def command(timeout_s: float, **kwargs: Any) -> int:
    """Read-only: ask each host what only a real host can tell.

    Changes nothing on any host: it reads WMI, $PSVersionTable and the WSMan:
    drive. Per host: which script delivery works (winrm: stdin and file are
    both tried), whether the exit code comes back, the VMs' Caption and
    Description and the OS locale, whether the Dynamic Memory counter
    classes answer and with which instance names, whether root\\MSCluster
    answers with packet privacy, and the PowerShell/WinRM versions and
    quotas. Attach `--format json` output to a bug report. Exit 1 when a
    host could not run the probe.
    """
    settings = settings_from(kwargs)
    hosts = load_hosts(settings.inventory, settings.limit)
    context = TransportContext(
        state_dir=settings.state_dir, password_for=make_password_resolver(settings.ask_pass)
    )
    results = fan_out(
        hosts, lambda spec: probe_host(spec, context, timeout_s=timeout_s), settings.forks
    )
    if settings.fmt == "json":
        json.dump({"hosts": [r.as_dict() for r in results]}, sys.stdout, indent=2,
                  ensure_ascii=True)
        sys.stdout.write("\n")
    else:
        _print(results)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _print(results: list[ProbeResult]) -> None:
    console = stdout_console()
    for r in results:
        head = Text()
        head.append(f"{printable(r.host)} ({r.transport})", style="bold")
        if not r.ok:
            head.append("  probe failed", style="red")
            head.append(f"  {r.error_kind or 'error'}: {printable(r.error or '')}")
            console.print(head)
            if r.hint:
                console.print(Text(printable(f"  hint: {r.hint}"), style="yellow"))
            for mode, outcome in r.deliveries.items():
                console.print(Text(f"  delivery {mode}: {printable(outcome)}", style="dim"))
            continue
        console.print(head)
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("check")
        table.add_column("status")
        table.add_column("answer", overflow="fold")
        for c in r.checks:
            table.add_row(c.check, Text(c.status, style=_STYLE.get(c.status, "")),
                          Text(printable(c.value or "")))
        console.print(table)
        console.print()
