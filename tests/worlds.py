"""A tiny simulated world per test: one or two mock hosts, a policy, a private state dir."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hvdyn.history import open_store
from hvdyn.history.rows import JournalRow
from hvdyn.sim import load_state
from hvdyn.sim.state import HostState, SimVm

from .runner import CliResult, run_cli

POLICY = """\
version: 1
inventory: inventory.yaml
defaults: {dynamic: true, startup: 1GB, maximum: 4GB, buffer: 20, weight: 5000}
host: {reserve: 2GB, max_overcommit: 4.0}
"""


@dataclass
class World:
    root: Path
    hosts: dict[str, Path]  # host name -> fixture path
    catch_exceptions: bool = False  # True: an uncaught exception is a result, not an error

    @property
    def policy(self) -> Path:
        return self.root / "policy.yaml"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yaml"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def hvdyn(self, *args: str | Path) -> CliResult:
        return run_cli(*args, state_dir=self.state, catch_exceptions=self.catch_exceptions)

    def sim(self, host: str = "hv1") -> HostState:
        return load_state(self.state, host, self.hosts[host])

    def vm(self, name: str, host: str = "hv1") -> SimVm:
        return next(v for v in self.sim(host).vms if v.name == name)

    def journal(self, run_id: int) -> list[JournalRow]:
        with open_store(self.state) as store:
            return store.journal(run_id)

    def outcomes(self, run_id: int) -> dict[str, str]:
        return {row.vm_name: row.outcome for row in self.journal(run_id)}


def make_world(root: Path, hosts: dict[str, str], policy: str = POLICY, *,
               catch_exceptions: bool = False) -> World:
    """hosts: name -> the fixture's text after `host:` (its `vms:` and `faults:`)."""
    inv = ["all:", "  vars: {hvdyn_transport: mock}", "  hosts:"]
    paths: dict[str, Path] = {}
    for name, body in hosts.items():
        path = root / f"{name}.yaml"
        path.write_text(f"host: {{name: {name}, memory: 32GB, reserve: 2GB}}\n{body}",
                        encoding="utf-8")
        paths[name] = path
        inv.append(f"    {name}: {{hvdyn_mock_fixture: {path.name}}}")
    (root / "inventory.yaml").write_text("\n".join(inv) + "\n", encoding="utf-8")
    (root / "policy.yaml").write_text(policy, encoding="utf-8")
    return World(root=root, hosts=paths, catch_exceptions=catch_exceptions)


Make = Callable[..., World]
