"""`hvdyn validate`: check a policy and its inventory; no host is contacted.

Imports neither the engine nor the store nor the renderer (tests/cli/test_startup_imports.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hvdyn.cli.context import load_targets
from hvdyn.cli.options import POLICY_ARGUMENT, common_options, settings_from
from hvdyn.core.errors import EXIT_OK, raise_located
from hvdyn.inventory import last_loaded, load_inventory, users_missing


@click.command("validate")
@POLICY_ARGUMENT
@common_options
def command(policy: Path, **kwargs: Any) -> int:
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
