"""Run the real CLI in-process against small simulated hosts (tests/observe/data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from hvdyn.cli.group import cli

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]
INVENTORY = DATA / "inventory.yaml"
POLICY = DATA / "policy.yaml"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


Hv = Callable[..., Run]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def hv(state: Path) -> Hv:
    """`hv("collect", "--samples", "5")`: the CLI with --state-dir set (before any `--`)."""

    def invoke(*args: str | Path) -> Run:
        argv = [str(a) for a in args]
        if "--" in argv:
            cut = argv.index("--")
            argv = [*argv[:cut], "--state-dir", str(state), *argv[cut:]]
        else:
            argv += ["--state-dir", str(state)]
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture
def collected(hv: Hv) -> Hv:
    """The observe hosts with 48 samples a minute apart already stored."""
    run = hv("collect", "-i", INVENTORY, "--samples", "48", "--interval", "60")
    assert run.code == 0, run.out + run.err
    return hv
