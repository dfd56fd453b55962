"""What render and explain share: the plan they review, from a snapshot or from the hosts."""

from __future__ import annotations

from pathlib import Path

import click

from hvdyn.cli.context import transport_factory
from hvdyn.cli.options import Settings
from hvdyn.core.model import HostResult, HostSpec
from hvdyn.history import open_store
from hvdyn.policy.evaluate import Policy
from hvdyn.run.engine import Engine, RunOptions
from hvdyn.run.snapshot import load_snapshot

SNAPSHOT_OPTION = click.option(
    "--snapshot",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Plan from a snapshot saved by `plan --save-snapshot` (no host contact).",
)


def review_plan(
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
