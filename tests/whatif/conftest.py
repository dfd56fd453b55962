"""The bundled lab with one day of collected history, copied fresh for each test."""

from __future__ import annotations

import shutil
import sqlite3
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.runner import CliResult, run_cli

REPO = Path(__file__).resolve().parents[2]
LAB_POLICY = REPO / "examples" / "lab.yaml"
LAB_INVENTORY = REPO / "inventories" / "lab.yaml"
DB_NAME = "hvdyn.sqlite3"


@dataclass(frozen=True)
class Lab:
    state: Path
    tmp: Path

    def hvdyn(self, *args: str | Path) -> CliResult:
        return run_cli(*args, state_dir=self.state)

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
    for argv in (["sim", "reset", "-i", LAB_INVENTORY],
                 ["collect", "-i", LAB_INVENTORY, "--samples", "48", "--interval", "1800"]):
        result = run_cli(*argv, state_dir=state)
        assert result.exit_code == 0, result.output
    return state


@pytest.fixture
def lab(lab_history: Path, tmp_path: Path) -> Lab:
    state = tmp_path / "state"
    shutil.copytree(lab_history, state)
    return Lab(state=state, tmp=tmp_path)


LabFactory = Callable[..., Lab]
