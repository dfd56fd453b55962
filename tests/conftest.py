"""Fixtures the whole suite shares: `hvdyn` run in-process, and small simulated worlds.

The runner itself is `tests.runner.run_cli`; the worlds are `tests.worlds`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from .runner import CliResult, Hvdyn, run_cli
from .worlds import Make
from .worlds import make_world as build_world


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The test's private state directory (created by the first command that writes it)."""
    return tmp_path / "state"


@pytest.fixture
def hvdyn(state: Path) -> Hvdyn:
    """`hvdyn("plan", POLICY)`: the CLI in-process with --state-dir set to `state`.

    `state_dir=` runs one command against another state directory.
    """

    def invoke(*args: str | Path, state_dir: Path | None = None) -> CliResult:
        return run_cli(*args, state_dir=state_dir or state)

    return invoke


@pytest.fixture
def make_world(tmp_path: Path) -> Make:
    """`make_world({"hv1": "vms:\\n" + vm("a")})`: mock hosts, inventory and policy in tmp_path."""
    return partial(build_world, tmp_path)
