"""`hvdyn rollback RUN`: restore what a run journaled, through apply's plan, checks and options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hvdyn.cli.apply_flow import (
    ApplyRequest,
    apply_options,
    recorded_apply,
    run_footer,
    run_options_from,
)
from hvdyn.cli.context import load_targets
from hvdyn.cli.options import Settings, common_options, settings_from
from hvdyn.cli.output import print_results
from hvdyn.cli.stored_runs import load_run
from hvdyn.core.errors import InputError
from hvdyn.core.vocab import CHANGING_RUNS, RunKind
from hvdyn.history import open_store
from hvdyn.history.rows import RunRow
from hvdyn.inventory import load_inventory, select_hosts
from hvdyn.policy.evaluate import Policy
from hvdyn.policy.load import load_policy
from hvdyn.run.rollback import RollbackPolicy


@click.command("rollback")
@click.argument("run_id", type=int)
@common_options
@apply_options
def command(run_id: int, **kwargs: Any) -> int:
    """Restore the values a run journaled, through the same plan, checks and options as apply."""
    settings = settings_from(kwargs)
    options = run_options_from(kwargs, settings)
    with open_store(settings.state_dir) as store:
        run = load_run(store, run_id)
        journal = store.journal(run_id)
    if run.command not in CHANGING_RUNS:
        article = "an" if run.command[:1] in "aeiou" else "a"
        raise InputError(f"run {run_id} is {article} {run.command}: nothing to roll back "
                         "(only apply and rollback runs change hosts)")
    recorded = json.loads(run.options or "{}")
    policy, inventory = _original_policy(run, recorded, settings)
    rollback_policy = RollbackPolicy.from_journal(
        run_id, journal,
        host_reserve_mb=policy.host_reserve_mb if policy else 2048,
        max_overcommit=policy.max_overcommit if policy else None,
    )
    hosts = [h for h in select_hosts(load_inventory(inventory), settings.limit)
             if h.name in rollback_policy.hosts]
    outcome = recorded_apply(ApplyRequest(
        command=RunKind.ROLLBACK, policy=rollback_policy, hosts=tuple(hosts), settings=settings,
        options=options, policy_path=None if run.policy_path is None else Path(run.policy_path),
        policy_digest=run.policy_digest, inventory=inventory, rollback_of=run_id,
    ))
    print_results(outcome.results, settings, scripts=options.dry_run, run_id=outcome.run_id)
    run_footer(outcome, RunKind.ROLLBACK)
    return outcome.exit_code


def _original_policy(run: RunRow, recorded: dict[str, Any], settings: Settings
                     ) -> tuple[Policy | None, Path]:
    """The run's policy (for reserve and overcommit limits) and inventory; -i wins."""
    policy = None
    if run.policy_path and Path(run.policy_path).is_file():
        if settings.inventory is None and "inventory" not in recorded:
            targets = load_targets(Path(run.policy_path), None, settings.limit)
            return targets.policy, targets.inventory_path
        policy = load_policy(Path(run.policy_path))
    inventory = settings.inventory or (Path(recorded["inventory"]) if "inventory" in recorded
                                       else None)
    if inventory is None:
        raise InputError(f"run {run.id} names no inventory: pass -i/--inventory")
    return policy, inventory
