"""Hostile inputs, odd output paths, signals: a small simulated world per test."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hvdyn.cli.group import cli

POLICY = """\
version: 1
inventory: inventory.yaml
defaults: {dynamic: true, startup: 1GB, maximum: 4GB, buffer: 20, weight: 5000}
host: {reserve: 2GB, max_overcommit: 4.0}
"""


def vm(name: str, *, weight: int = 100, startup: str = "1GB", vm_id: str | None = None) -> str:
    """A fixture VM entry that the policy above changes online (weight -> 5000)."""
    ident = f", id: {vm_id}" if vm_id else ""
    return (f'  - {{name: "{name}"{ident}, os: Windows Server 2008 R2 Enterprise, '
            f"memory: {{dynamic: true, startup: {startup}, maximum: 4GB, buffer: 20, "
            f"weight: {weight}}}}}\n")


@dataclass
class Result:
    code: int
    out: str
    err: str
    exception: BaseException | None

    def json_doc(self) -> Any:
        return json.loads(self.out)

    @property
    def traceback_free(self) -> bool:
        return self.exception is None or isinstance(self.exception, SystemExit)


@dataclass
class World:
    root: Path
    fixtures: dict[str, Path]

    @property
    def policy(self) -> Path:
        return self.root / "policy.yaml"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yaml"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def hvdyn(self, *args: str | Path) -> Result:
        argv = [str(a) for a in args] + ["--state-dir", str(self.state)]
        r = CliRunner().invoke(cli, argv)
        return Result(r.exit_code, r.stdout, r.stderr, r.exception)


Make = Callable[..., World]


@pytest.fixture
def make_world(tmp_path: Path) -> Make:
    def make(hosts: dict[str, str], policy: str = POLICY) -> World:
        """hosts: name -> the fixture's `vms:` (and `faults:`) text."""
        inv = ["all:", "  vars: {hvdyn_transport: mock}", "  hosts:"]
        fixtures: dict[str, Path] = {}
        for name, body in hosts.items():
            path = tmp_path / f"{name}.yaml"
            path.write_text(f"host: {{name: {name}, memory: 32GB, reserve: 2GB}}\n{body}",
                            encoding="utf-8")
            fixtures[name] = path
            inv.append(f"    {name}: {{hvdyn_mock_fixture: {path.name}}}")
        (tmp_path / "inventory.yaml").write_text("\n".join(inv) + "\n", encoding="utf-8")
        (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
        return World(root=tmp_path, fixtures=fixtures)

    return make
