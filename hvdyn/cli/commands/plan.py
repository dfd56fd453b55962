"""`hvdyn plan`: discover hosts and show what would change and why; change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hvdyn.cli.context import load_targets, transport_factory
from hvdyn.cli.options import (
    POLICY_ARGUMENT,
    Settings,
    checked_output,
    common_options,
    settings_from,
)
from hvdyn.cli.output import print_results
from hvdyn.cli.progress import progress_display

# The engine, the store and the report are imported when the command runs.
if TYPE_CHECKING:
    from hvdyn.core.model import HostResult
    from hvdyn.run.engine import RunOptions


def _run(policy: Path, settings: Settings, options: RunOptions) -> list[HostResult]:
    from hvdyn.history import open_store
    from hvdyn.run.engine import Engine

    targets = load_targets(policy, settings.inventory, settings.limit)
    with progress_display(settings) as progress, open_store(settings.state_dir) as store:
        engine = Engine(
            targets.policy,
            transport_factory(settings.state_dir, ask_pass=settings.ask_pass),
            options,
            progress=progress,
            guests=store,
        )
        return engine.run(targets.hosts)


@click.command("plan")
@POLICY_ARGUMENT
@common_options
@click.option(
    "--allow-restart",
    is_flag=True,
    help="Plan as if running VMs may be shut down for needs-off changes.",
)
@click.option("--include-saved", is_flag=True, help="Plan as apply --include-saved would.")
@click.option("--include-paused", is_flag=True, help="Plan as apply --include-paused would.")
@click.option(
    "--save-snapshot",
    type=click.Path(path_type=str, dir_okay=False),
    default=None,
    callback=checked_output,
    help="Save what discovery saw, for `render --snapshot` later.",
)
def command(
    policy: Path,
    allow_restart: bool,
    include_saved: bool,
    include_paused: bool,
    save_snapshot: Path | None,
    **kwargs: Any,
) -> int:
    """Discover hosts and show what would change and why (exit 2 when something would)."""
    from hvdyn.core.model import exit_code
    from hvdyn.planning.plan import PlanOptions
    from hvdyn.run.engine import RunOptions

    settings = settings_from(kwargs)
    plan_options = PlanOptions(
        allow_restart=allow_restart, include_saved=include_saved, include_paused=include_paused
    )
    options = RunOptions(mode="plan", forks=settings.forks, plan=plan_options)
    results = _run(policy, settings, options)
    print_results(results, settings)
    if save_snapshot is not None:
        from hvdyn.run.snapshot import save_snapshot as save_snapshot_file

        count = save_snapshot_file(save_snapshot, results)
        click.echo(f"saved the facts of {count} hosts to {save_snapshot}", err=True)
    return exit_code(results)
