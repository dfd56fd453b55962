"""validate, plan, apply, explain: the commands that converge VMs to a policy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hvdyn.cli.apply_flow import (
    apply_options,
    progress_display,
    recorded_apply,
    run_footer,
    run_options,
)
from hvdyn.cli.context import checked_output, load_targets, transport_factory
from hvdyn.cli.group import Settings, cli, common_options, settings_from, stdout_console
from hvdyn.core.errors import EXIT_OK, raise_located
from hvdyn.inventory import last_loaded, load_inventory, users_missing

# The engine, the store and the report are imported by the commands that run them:
# `hvdyn validate` needs the policy and the inventory only.
if TYPE_CHECKING:
    from hvdyn.core.model import HostResult
    from hvdyn.run.engine import RunOptions

POLICY = click.argument("policy", type=click.Path(path_type=Path, dir_okay=False))


def _print(results: list[HostResult], settings: Settings, *, scripts: bool = False,
           run_id: int | None = None) -> None:
    from hvdyn.formats.results import write_json, write_table

    if settings.fmt == "json":
        write_json(results, sys.stdout, include_scripts=scripts, run_id=run_id)
    else:
        write_table(results, stdout_console(), verbose=settings.verbose, run_id=run_id)


@cli.command()
@POLICY
@common_options
def validate(policy: Path, **kwargs: Any) -> int:
    """Check a policy and its inventory without contacting any host.

    The fixtures of simulated hosts are checked too (their state is not touched),
    as plan and apply check them before contacting any host.
    """
    settings = settings_from(kwargs)
    targets = load_targets(policy, settings.inventory, settings.limit)
    inventory = last_loaded(targets.inventory_path) or load_inventory(targets.inventory_path)
    no_user = users_missing(inventory, [h.name for h in targets.hosts])
    # Would fail at run time as an auth error that hides the real cause; in host order.
    raise_located(no_user, sort=False)
    simulated = [h for h in targets.hosts if h.transport == "mock" and h.mock_fixture]
    click.echo(
        f"{policy}: valid ({len(targets.policy.rules)} rules); "
        f"inventory {targets.inventory_path}: {len(targets.hosts)} hosts selected"
        + (f" ({len(simulated)} simulated, fixtures valid)" if simulated else "")
    )
    return EXIT_OK


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


@cli.command()
@POLICY
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
def plan(
    policy: Path,
    allow_restart: bool,
    include_saved: bool,
    include_paused: bool,
    save_snapshot: Path | None,
    **kwargs: Any,
) -> int:
    """Discover hosts and show what would change and why (exit 2 when something would)."""
    from hvdyn.formats.results import exit_code
    from hvdyn.planning.plan import PlanOptions
    from hvdyn.run.engine import RunOptions

    settings = settings_from(kwargs)
    plan_options = PlanOptions(
        allow_restart=allow_restart, include_saved=include_saved, include_paused=include_paused
    )
    options = RunOptions(mode="plan", forks=settings.forks, plan=plan_options)
    results = _run(policy, settings, options)
    _print(results, settings)
    if save_snapshot is not None:
        from hvdyn.run.snapshot import save_snapshot as save_snapshot_file

        count = save_snapshot_file(save_snapshot, results)
        click.echo(f"saved the facts of {count} hosts to {save_snapshot}", err=True)
    return exit_code(results)


@cli.command()
@POLICY
@common_options
@apply_options
def apply(policy: Path, **kwargs: Any) -> int:
    """Converge VMs to the policy (journaled; `hvdyn rollback RUN` undoes it)."""
    settings = settings_from(kwargs)
    options = run_options(settings, kwargs)
    targets = load_targets(policy, settings.inventory, settings.limit)
    results, code, run_id = recorded_apply(
        command="apply",
        policy=targets.policy,
        hosts=targets.hosts,
        settings=settings,
        options=options,
        policy_path=policy.resolve(),
        policy_digest=targets.policy.digest,
        extra={"inventory": str(targets.inventory_path.resolve())},
    )
    print_results(results, settings, scripts=options.dry_run, run_id=run_id)
    run_footer("apply", run_id, code)
    return code


def print_results(results: list[HostResult], settings: Settings, *, scripts: bool,
                  run_id: int | None = None) -> None:
    """Results, and for a dry run in table form the scripts that would be sent."""
    _print(results, settings, scripts=scripts, run_id=run_id)
    if scripts and settings.fmt == "table":
        for result in results:
            for script in result.scripts:
                if not script.params.get("vms"):
                    continue
                click.echo(f"# ---- {result.host}: {script.name} ({len(script.text)} chars)")
                click.echo(script.text)
