"""`hvdyn plan` and `hvdyn apply` end to end over the real pywinrm client.

The hosts in the inventory use `hvdyn_transport: winrm` and point at the
in-process fake WS-Management endpoint. The fake cannot run PowerShell, so
it plays the simulated host: each rendered Script is announced to it just
before the transport sends it, and the fake answers only when the text it
received over HTTP is byte-for-byte that script, with the records the
simulated host prints for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hvdyn.cli import cli
from hvdyn.model import Script, ScriptResult
from hvdyn.protocol import encode_stream
from hvdyn.sim import load_fixture, run_script
from hvdyn.sim.state import HostState
from hvdyn.transport.winrm import WinrmTransport

from .conftest import PASSWORD
from .fake_wsman import FakeWsman, Reply

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "inventories" / "lab"


class SimulatedHosts:
    """The fake's "PowerShell": scripts announced by text, answered by the simulator."""

    def __init__(self, hosts: dict[str, Path]) -> None:
        self.states: dict[str, HostState] = {
            name: load_fixture(path, default_name=name) for name, path in hosts.items()
        }
        self.expected: dict[str, tuple[str, Script]] = {}
        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def announce(self, host: str, script: Script) -> None:
        with self.lock:
            self.expected[script.text] = (host, script)

    def __call__(self, text: str) -> Reply:
        with self.lock:
            if text not in self.expected:
                return Reply(stderr="script text differs from every rendered script", rc=1)
            host, script = self.expected.pop(text)
            self.received.append((host, script.name))
            records: list[Any] = list(run_script(self.states[host], script.name, script.params))
        return Reply(stdout=encode_stream(script.name, records))


@pytest.fixture
def winrm_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SimulatedHosts, FakeWsman, Path]]:
    hosts = {"hv-srv-01": LAB / "hv-srv-01.yaml", "hv-full-01": LAB / "hv-full-01.yaml"}
    sim = SimulatedHosts(hosts)
    original = WinrmTransport.run

    def announced_run(self: WinrmTransport, script: Script, *, timeout_s: float) -> ScriptResult:
        sim.announce(self.spec.name, script)
        return original(self, script, timeout_s=timeout_s)

    monkeypatch.setattr(WinrmTransport, "run", announced_run)
    monkeypatch.setenv("HVDYN_LAB_PASSWORD", PASSWORD)
    with FakeWsman(handler=sim) as fake:
        inventory = tmp_path / "winrm.yaml"
        host_lines = "".join(f"        {name}: {{}}\n" for name in hosts)
        inventory.write_text(
            "all:\n"
            "  vars:\n"
            "    hvdyn_transport: winrm\n"
            "    ansible_host: 127.0.0.1\n"
            f"    ansible_port: {fake.port}\n"
            "    ansible_user: hvadmin\n"
            "    ansible_winrm_transport: basic\n"
            "    hvdyn_allow_unencrypted: true\n"
            "    hvdyn_password_env: HVDYN_LAB_PASSWORD\n"
            "  children:\n"
            "    servers:\n      hosts:\n" + host_lines,
            encoding="utf-8",
        )
        yield sim, fake, inventory


def hvdyn(*args: str | Path) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout) if result.stdout.startswith("{") else None


def test_plan_over_winrm_discovers_through_the_fake(
    winrm_lab: tuple[SimulatedHosts, FakeWsman, Path], tmp_path: Path
) -> None:
    sim, fake, inventory = winrm_lab
    code, doc = hvdyn(
        "plan",
        REPO / "examples" / "lab.yaml",
        "-i",
        inventory,
        "--state-dir",
        tmp_path / "state",
        "--format",
        "json",
    )
    assert code == 2, doc
    assert [h["host"] for h in doc["hosts"]] == ["hv-full-01", "hv-srv-01"]
    assert all(h["status"] == "drift" and h["error"] is None for h in doc["hosts"])
    assert sorted(sim.received) == [("hv-full-01", "discover"), ("hv-srv-01", "discover")]
    assert fake.actions["Create"] == 2  # one shell per host


def test_apply_over_winrm_is_two_scripts_per_host_and_converges(
    winrm_lab: tuple[SimulatedHosts, FakeWsman, Path], tmp_path: Path
) -> None:
    sim, fake, inventory = winrm_lab
    state = tmp_path / "state"
    code, doc = hvdyn(
        "apply",
        REPO / "examples" / "lab.yaml",
        "-i",
        inventory,
        "--allow-restart",
        "--state-dir",
        state,
        "--format",
        "json",
    )
    assert code == 0, doc
    assert doc["summary"]["applied"] > 0 and doc["summary"]["failed"] == 0
    per_host = {h: [n for host, n in sim.received if host == h] for h in ("hv-srv-01",)}
    # One apply script for the online changes, then one per VM restarted (issue 6:
    # restarts are journaled and confirmed one VM at a time); still one shell per host.
    restarts = {
        h["host"]: sum(1 for vm in h["vms"] if vm["restart"]) for h in doc["hosts"]
    }
    assert restarts["hv-srv-01"] > 0
    assert per_host["hv-srv-01"] == ["discover", "apply"] + ["apply"] * restarts["hv-srv-01"]
    scripts = sum(2 + n for n in restarts.values())
    assert fake.actions["Create"] == 2 and fake.actions["Command"] == scripts

    code, doc = hvdyn(
        "plan",
        REPO / "examples" / "lab.yaml",
        "-i",
        inventory,
        "--state-dir",
        state,
        "--format",
        "json",
    )
    assert code == 0 and doc["summary"]["changes"] == 0
