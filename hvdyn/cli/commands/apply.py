"""`hvdyn apply`: converge VMs to the policy, journaled so `hvdyn rollback RUN` can undo it."""

from __future__ import annotations

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
from hvdyn.cli.options import POLICY_ARGUMENT, common_options, settings_from
from hvdyn.cli.output import print_results
from hvdyn.core.vocab import RunKind


@click.command("apply")
@POLICY_ARGUMENT
@common_options
@apply_options
def command(policy: Path, **kwargs: Any) -> int:
    """Converge VMs to the policy (journaled; `hvdyn rollback RUN` undoes it)."""
    settings = settings_from(kwargs)
    options = run_options_from(kwargs, settings)
    targets = load_targets(policy, settings.inventory, settings.limit)
    outcome = recorded_apply(ApplyRequest(
        command=RunKind.APPLY,
        policy=targets.policy,
        hosts=tuple(targets.hosts),
        settings=settings,
        options=options,
        policy_path=policy.resolve(),
        policy_digest=targets.policy.digest,
        inventory=targets.inventory_path.resolve(),
    ))
    print_results(outcome.results, settings, scripts=options.dry_run, run_id=outcome.run_id)
    run_footer(outcome, RunKind.APPLY)
    return outcome.exit_code
