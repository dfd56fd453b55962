"""`hvdyn sim ...`: manage the simulated hosts of mock inventories."""

from __future__ import annotations

from pathlib import Path

import click

from hvdyn.cli.context import load_hosts
from hvdyn.cli.options import default_state_dir
from hvdyn.core.errors import EXIT_OK, InputError


@click.group("sim")
def command() -> None:
    """The simulated 2008 R2 SP1 hosts behind `hvdyn_transport: mock`."""


@command.command()
@click.option(
    "-i",
    "--inventory",
    type=click.Path(path_type=Path),
    required=True,
    help="Inventory whose mock hosts to reset.",
)
@click.option("--limit", default=None, metavar="PATTERN", help="Only these hosts or groups.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="State directory (default: $HVDYN_STATE_DIR or the XDG state dir).",
)
def reset(inventory: Path, limit: str | None, state_dir: Path | None) -> int:
    """Restore simulated hosts to their fixtures (forget every applied change)."""
    from hvdyn import sim as simulator

    hosts = [h for h in load_hosts(inventory, limit) if h.transport == "mock"]
    if not hosts:
        raise InputError(f"{inventory}: no mock hosts selected")
    written = simulator.reset(state_dir or default_state_dir(), hosts)
    for host in hosts:
        click.echo(f"{host.name}: reset to {host.mock_fixture}")
    click.echo(f"{len(written)} simulated hosts reset")
    return EXIT_OK
