"""`hvdyn plan` and `hvdyn apply` end to end over the real pywinrm and pypsrp clients.

The inventory's hosts use `hvdyn_transport: winrm` or `psrp` and point at the
in-process fake WS-Management endpoint (fake_wsman.py; for PSRP, fake_psrp.py
inside it). The fake cannot run PowerShell, so it plays the simulated host
(simlab.py): each rendered Script is announced to it just before the
transport sends it, and the fake answers only when the text it received over
HTTP (for PSRP, read out of the CREATE_PIPELINE message) is byte-for-byte that
script, with the records the simulated host prints for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hvdyn.transport.psrp import PsrpTransport
from hvdyn.transport.winrm import WinrmTransport

from .fake_wsman import FakeWsman
from .simlab import REPO, SimulatedHosts, hvdyn, simulated_lab

Lab = tuple[str, SimulatedHosts, FakeWsman, Path]


@pytest.fixture(params=["winrm", "psrp"])
def lab(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Lab]:
    name = request.param
    transport = WinrmTransport if name == "winrm" else PsrpTransport
    with simulated_lab(transport, name, tmp_path, monkeypatch) as (sim, fake, inventory):
        yield name, sim, fake, inventory


def _plan(inventory: Path, state: Path) -> tuple[int, Any]:
    return hvdyn("plan", REPO / "examples" / "lab.yaml", "-i", inventory,
                 "--state-dir", state, "--format", "json")


def test_plan_discovers_through_the_fake(lab: Lab, tmp_path: Path) -> None:
    transport, sim, fake, inventory = lab
    code, doc = _plan(inventory, tmp_path / "state")
    assert code == 2, doc
    assert [h["host"] for h in doc["hosts"]] == ["hv-full-01", "hv-srv-01"]
    assert all(h["status"] == "drift" and h["error"] is None for h in doc["hosts"])
    assert sorted(sim.received) == [("hv-full-01", "discover"), ("hv-srv-01", "discover")]
    assert fake.actions["Create"] == 2  # one shell (WinRM) or runspace pool (PSRP) per host
    if transport == "psrp":  # one pipeline per script, every pool closed
        assert fake.psrp.pipelines_created == 2
        assert fake.actions["Command"] == 2 and fake.actions["Delete"] == 2
        assert fake.psrp.client_protocols == ["2.3", "2.3"]
        assert fake.psrp.sent["RUNSPACEPOOL_STATE"] == 2
        assert fake.psrp.sent["PIPELINE_HOST_CALL"] == 2  # each script's `exit 0`


def test_apply_uses_one_connection_per_host_and_converges(lab: Lab, tmp_path: Path) -> None:
    transport, sim, fake, inventory = lab
    state = tmp_path / "state"
    code, doc = hvdyn("apply", REPO / "examples" / "lab.yaml", "-i", inventory,
                      "--allow-restart", "--state-dir", state, "--format", "json")
    assert code == 0, doc
    assert doc["summary"]["applied"] > 0 and doc["summary"]["failed"] == 0
    # One apply script for the online changes, then one per VM restarted (restarts
    # are journaled and confirmed one VM at a time); still one connection per host.
    restarts = {h["host"]: sum(1 for vm in h["vms"] if vm["restart"]) for h in doc["hosts"]}
    assert restarts["hv-srv-01"] > 0
    received = [n for host, n in sim.received if host == "hv-srv-01"]
    assert received == ["discover", "apply"] + ["apply"] * restarts["hv-srv-01"]
    scripts = sum(2 + n for n in restarts.values())
    assert fake.actions["Create"] == 2
    if transport == "psrp":
        assert fake.psrp.pipelines_created == scripts
        assert fake.psrp.sent["PIPELINE_HOST_CALL"] == scripts
    else:
        assert fake.actions["Command"] == scripts

    code, doc = _plan(inventory, state)
    assert code == 0 and doc["summary"]["changes"] == 0


def test_a_connection_lost_mid_apply_keeps_the_results_received(lab: Lab, tmp_path: Path) -> None:
    """The salvage of a real client's partial output: VMs whose result arrived are applied,
    the rest unknown (the host did apply them: the rerun finds nothing left to do)."""
    _, sim, _, inventory = lab
    sim.drops[("hv-full-01", "apply")] = 2  # the begin record and the first VM's result
    state = tmp_path / "state"
    apply = ("apply", REPO / "examples" / "lab.yaml", "-i", inventory, "--state-dir", state,
             "--format", "json")
    code, doc = hvdyn(*apply)
    assert code == 1
    host = next(h for h in doc["hosts"] if h["host"] == "hv-full-01")
    assert host["status"] == "failed" and "Remote end closed connection" in host["error"]
    sent = [vm for vm in host["vms"] if vm["changes"]]
    assert len(sent) > 2
    first, lost = sent[0], sent[1:]
    assert {c["status"] for c in first["changes"]} == {"applied"}
    assert all(vm["reason"].startswith("outcome unknown: connection lost") for vm in lost)

    code, shown = hvdyn("runs", "show", "1", "--state-dir", state, "--format", "json")
    journaled = {vm["name"]: vm["outcome"] for vm in shown["vms"] if vm["host"] == "hv-full-01"}
    assert journaled == {first["name"]: "applied", **{vm["name"]: "unknown" for vm in lost}}

    code, doc = hvdyn(*apply)
    host = next(h for h in doc["hosts"] if h["host"] == "hv-full-01")
    assert [vm["name"] for vm in host["vms"] if vm["changes"]] == []
