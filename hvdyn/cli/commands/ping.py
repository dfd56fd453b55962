"""`hvdyn ping`: reach, authenticate, run a read-only script on each host."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.text import Text

from hvdyn.cli.context import load_hosts
from hvdyn.cli.options import FORMATS, host_options, settings_from
from hvdyn.cli.output import stdout_console
from hvdyn.core.errors import EXIT_FAILED, EXIT_OK
from hvdyn.formats.text import printable
from hvdyn.inventory.credentials import make_password_resolver
from hvdyn.run.ping import PingResult, ping_host
from hvdyn.run.runtime import fan_out
from hvdyn.transport import TransportContext


@click.command("ping")
@host_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(1, 3600),
    default=60.0,
    show_default=True,
    help="Seconds per host.",
)
def command(timeout_s: float, **kwargs: Any) -> int:
    """Check each host: connection, authentication, PowerShell, root\\virtualization.

    Exit 1 when any host fails; each failure comes with a hint.
    """
    settings = settings_from({**kwargs, "verbose": False})  # ping has no -v: one line a host
    hosts = load_hosts(settings.inventory, settings.limit)
    context = TransportContext(
        state_dir=settings.state_dir, password_for=make_password_resolver(settings.ask_pass)
    )
    results = fan_out(
        hosts, lambda spec: ping_host(spec, context, timeout_s=timeout_s), settings.forks
    )
    if settings.fmt == "json":
        json.dump(
            {"hosts": [r.as_dict() for r in results]}, sys.stdout, indent=2, ensure_ascii=False
        )
        sys.stdout.write("\n")
    else:
        _print(results)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _print(results: list[PingResult]) -> None:
    console = stdout_console()
    for r in results:
        line = Text()
        line.append(f"{printable(r.host)}: ", style="bold")
        if r.ok:
            line.append("ok", style="green")
            virt = "answers" if r.virtualization else "does NOT answer"
            line.append(printable(
                f"  PowerShell {r.ps_version or '?'}, {r.os or 'OS unknown'}, "
                f"root\\virtualization {virt}, delivery {r.delivery or '-'} ({r.transport})"
            ))
        else:
            line.append("failed", style="red")
            # Error texts carry what the host or anyone on the path sent (a 401's header):
            # control characters are shown as escapes, never passed to the terminal.
            line.append(printable(f"  {r.error_kind or 'error'}: {r.error}"))
        console.print(line)
        if r.security:
            console.print(Text(printable(f"  security: {r.security}")))
        if r.hint:
            console.print(Text(printable(f"  hint: {r.hint}"), style="yellow"))
        for note in r.notes:
            console.print(Text(printable(f"  note: {note}"), style="dim"))
