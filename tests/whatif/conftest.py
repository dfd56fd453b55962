"""The bundled lab with one day of collected history, copied fresh for each test."""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hvdyn.cli.group import cli

REPO = Path(__file__).resolve().parents[2]
LAB_POLICY = REPO / "examples" / "lab.yaml"
LAB_INVENTORY = REPO / "inventories" / "lab.yaml"
DB_NAME = "hvdyn.sqlite3"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass(frozen=True)
class Lab:
    state: Path
    tmp: Path

    def hvdyn(self, *args: str | Path) -> Run:
        argv = [str(a) for a in args] + ["--state-dir", str(self.state)]
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    def policy(self, body: str, name: str = "policy.yaml") -> Path:
        """A policy file over the lab inventory; `body` holds defaults/host/rules."""
        path = self.tmp / name
        path.write_text(f"version: 1\ninventory: {LAB_INVENTORY}\n" + textwrap.dedent(body))
        return path

    def rows(self, statement: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.state / DB_NAME) as conn:
            return conn.execute(statement, args).fetchall()

    def sql(self, statement: str, args: tuple[Any, ...] = ()) -> int:
        with sqlite3.connect(self.state / DB_NAME) as conn:
            return conn.execute(statement, args).rowcount


@pytest.fixture(scope="session")
def lab_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One day of the lab at 30-minute steps (48 samples per VM), collected once."""
    state = tmp_path_factory.mktemp("whatif") / "state"
    runner = CliRunner()
    for argv in (["sim", "reset", "-i", str(LAB_INVENTORY)],
                 ["collect", "-i", str(LAB_INVENTORY), "--samples", "48", "--interval", "1800"]):
        result = runner.invoke(cli, [*argv, "--state-dir", str(state)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return state


@pytest.fixture
def lab(lab_history: Path, tmp_path: Path) -> Lab:
    state = tmp_path / "state"
    shutil.copytree(lab_history, state)
    return Lab(state=state, tmp=tmp_path)


LabFactory = Callable[..., Lab]
