"""Run the real CLI in-process against the bundled simulated lab."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hvdyn.cli.group import cli

from .helpers import Hvdyn, Run


@pytest.fixture
def hvdyn(tmp_path: Path) -> Hvdyn:
    """Invoke `hvdyn ARGS...` with a private state dir; returns exit code and output."""
    state = tmp_path / "state"

    def invoke(*args: str | Path, state_dir: Path | None = None) -> Run:
        argv = [str(a) for a in args]
        if argv and argv[0] not in ("--help", "--version"):
            argv += ["--state-dir", str(state_dir or state)]
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return invoke
