"""A tiny simulated world per test: one or two hosts, a policy, a private state dir."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hvdyn.cli.group import cli
from hvdyn.history import open_store
from hvdyn.history.rows import JournalRow
from hvdyn.sim import load_state
from hvdyn.sim.state import HostState, SimVm

POLICY = """\
version: 1
inventory: inventory.yaml
defaults: {dynamic: true, startup: 1GB, maximum: 4GB, buffer: 20, weight: 5000}
host: {reserve: 2GB, max_overcommit: 4.0}
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class World:
    root: Path
    hosts: dict[str, Path]  # host name -> fixture path

    @property
    def policy(self) -> Path:
        return self.root / "policy.yaml"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def hvdyn(self, *args: str | Path) -> Result:
        argv = [str(a) for a in args] + ["--state-dir", str(self.state)]
        r = CliRunner().invoke(cli, argv, catch_exceptions=False)
        return Result(r.exit_code, r.stdout, r.stderr)

    def sim(self, host: str = "hv1") -> HostState:
        return load_state(self.state, host, self.hosts[host])

    def vm(self, name: str, host: str = "hv1") -> SimVm:
        return next(v for v in self.sim(host).vms if v.name == name)

    def journal(self, run_id: int) -> list[JournalRow]:
        with open_store(self.state) as store:
            return store.journal(run_id)

    def outcomes(self, run_id: int) -> dict[str, str]:
        return {row.vm_name: row.outcome for row in self.journal(run_id)}


def vm(name: str, *, state: str = "running", startup: str = "1GB", maximum: str = "4GB",
       buffer: int = 20, weight: int = 5000, extra: str = "") -> str:
    return (f"  - {{name: {name}, state: {state}, os: Windows Server 2008 R2 Enterprise,"
            f" memory: {{dynamic: true, startup: {startup}, maximum: {maximum},"
            f" buffer: {buffer}, weight: {weight}}}{extra}}}\n")


@pytest.fixture
def make_world(tmp_path: Path) -> Callable[..., World]:
    def make(hosts: dict[str, str], policy: str = POLICY) -> World:
        """hosts: name -> fixture body after `host:` (vms and faults)."""
        inv = ["all:", "  vars: {hvdyn_transport: mock}", "  hosts:"]
        paths: dict[str, Path] = {}
        for name, body in hosts.items():
            path = tmp_path / f"{name}.yaml"
            path.write_text(f"host: {{name: {name}, memory: 32GB, reserve: 2GB}}\n{body}",
                            encoding="utf-8")
            paths[name] = path
            inv.append(f"    {name}: {{hvdyn_mock_fixture: {path.name}}}")
        (tmp_path / "inventory.yaml").write_text("\n".join(inv) + "\n", encoding="utf-8")
        (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
        return World(root=tmp_path, hosts=paths)

    return make
