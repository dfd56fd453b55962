"""The runs the store recorded, as `runs show` and `rollback` look one up."""

from __future__ import annotations

from hvdyn.core.errors import InputError
from hvdyn.history import Store
from hvdyn.history.rows import RunRow


def load_run(store: Store, run_id: int) -> RunRow:
    """Run `run_id`; an input error naming the store when there is none."""
    run = store.run(run_id)
    if run is None:
        raise InputError(f"no run {run_id} in {store.path}")
    return run
