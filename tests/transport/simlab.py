"""The simulated lab behind the fake endpoint, for end-to-end CLI tests over a real client.

The fake cannot run PowerShell, so it plays the simulated host: each rendered
Script is announced to it just before the transport sends it, and the fake
answers only when the text it received over HTTP is byte-for-byte that
script, with the records the simulated host prints for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hvdyn.core.model import Script, ScriptResult
from hvdyn.powershell.records import encode_stream
from hvdyn.sim import load_fixture, run_script
from hvdyn.sim.state import HostState
from tests.runner import run_cli

from .conftest import PASSWORD
from .fake_auth import ServerAuth
from .fake_wsman import FakeWsman, Reply

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "inventories" / "lab"
HOSTS = {"hv-srv-01": LAB / "hv-srv-01.yaml", "hv-full-01": LAB / "hv-full-01.yaml"}


class SimulatedHosts:
    """The fake's "PowerShell": scripts announced by text, answered by the simulator."""

    def __init__(self, hosts: dict[str, Path]) -> None:
        self.states: dict[str, HostState] = {
            name: load_fixture(path, default_name=name) for name, path in hosts.items()
        }
        self.expected: dict[str, tuple[str, Script]] = {}
        self.received: list[tuple[str, str]] = []
        # (host, script name) -> stdout lines received before the connection drops (once)
        self.drops: dict[tuple[str, str], int] = {}
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
            drop = self.drops.pop((host, script.name), None)
        return Reply(stdout=encode_stream(script.name, records), drop_after=drop)


# Inventory lines per auth: "basic" is the fake's lab mode; the others leave hvdyn's
# defaults alone (ntlm over HTTP with message encryption) or set only the auth.
AUTH_VARS = {
    "basic": "    ansible_winrm_transport: basic\n    hvdyn_allow_unencrypted: true\n",
    "ntlm": "",
    # the address is an IP: the SPN's host part comes from the override, as in Ansible
    "kerberos": "    ansible_winrm_transport: kerberos\n"
                "    ansible_winrm_kerberos_hostname_override: localhost\n",
}


@contextmanager
def simulated_lab(
    transport_cls: Any,
    transport: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    auth: str = "basic",
    server_auth: ServerAuth | None = None,
    user: str = "hvadmin",
    address: str = "127.0.0.1",
) -> Iterator[tuple[SimulatedHosts, FakeWsman, Path]]:
    """The lab's hosts behind the fake, and an inventory using `transport` to reach them."""
    sim = SimulatedHosts(HOSTS)
    original = transport_cls.run

    def announced_run(self: Any, script: Script, *, timeout_s: float) -> ScriptResult:
        sim.announce(self.spec.name, script)
        result: ScriptResult = original(self, script, timeout_s=timeout_s)
        return result

    monkeypatch.setattr(transport_cls, "run", announced_run)
    monkeypatch.setenv("HVDYN_LAB_PASSWORD", PASSWORD)
    with FakeWsman(handler=sim, auth=server_auth) as fake:
        inventory = tmp_path / f"{transport}.yaml"
        host_lines = "".join(f"        {name}: {{}}\n" for name in HOSTS)
        inventory.write_text(
            "all:\n"
            "  vars:\n"
            f"    hvdyn_transport: {transport}\n"
            f"    ansible_host: {address}\n"
            f"    ansible_port: {fake.port}\n"
            f"    ansible_user: {user}\n"
            + AUTH_VARS[auth]
            + "    hvdyn_password_env: HVDYN_LAB_PASSWORD\n"
            "  children:\n"
            "    servers:\n      hosts:\n" + host_lines,
            encoding="utf-8",
        )
        yield sim, fake, inventory


def hvdyn(*args: str | Path) -> tuple[int, Any]:
    """Run the CLI in-process; (exit code, parsed JSON output or None)."""
    result = run_cli(*args)
    return result.exit_code, json.loads(result.stdout) if result.stdout.startswith("{") else None
