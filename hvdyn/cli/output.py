"""Where command output goes: a console for tables, stdout or an -o file, plan/apply results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hvdyn.core.fileio import write_atomic

if TYPE_CHECKING:  # rich and the result formats only for the commands that print them
    from rich.console import Console

    from hvdyn.cli.options import Settings
    from hvdyn.core.model import HostResult

PIPE_WIDTH = 100_000  # "never wrap": wider than any record hvdyn prints


def stdout_console() -> Console:
    """The terminal's width on a terminal; piped or redirected, lines never wrap.

    A file or a pipe gets one record per line (grep/awk read it), not rich's
    default of 80 columns with continuation lines.
    """
    from rich.console import Console

    # markup=False: names and messages come from hosts and guests (data, never markup).
    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False, markup=False)
    return Console(highlight=False, soft_wrap=False, markup=False, width=PIPE_WIDTH)


def write_output(text: str, output: Path | None) -> None:
    """`text` to stdout, or atomically to -o FILE and "wrote FILE" on stderr."""
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)


def print_results(results: list[HostResult], settings: Settings, *, scripts: bool = False,
                  run_id: int | None = None) -> None:
    """plan/apply/rollback results; a dry run in table form also prints the scripts."""
    from hvdyn.formats.results import write_json, write_table

    if settings.fmt == "json":
        write_json(results, sys.stdout, include_scripts=scripts, run_id=run_id)
        return
    write_table(results, stdout_console(), verbose=settings.verbose, run_id=run_id)
    if scripts:
        for result in results:
            for script in result.scripts:
                if not script.params.get("vms"):
                    continue
                click.echo(f"# ---- {result.host}: {script.name} ({len(script.text)} chars)")
                click.echo(script.text)
