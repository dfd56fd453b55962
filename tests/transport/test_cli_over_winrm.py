"""`hvdyn plan` and `hvdyn apply` end to end over the real pywinrm client.

The hosts in the inventory use `hvdyn_transport: winrm` and point at the
in-process fake WS-Management endpoint. The fake cannot run PowerShell, so
it plays the simulated host: each rendered Script is announced to it just
before the transport sends it, and the fake answers only when the text it
received over HTTP is byte-for-byte that script, with the records the
simulated host prints for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hvdyn.transport.winrm import WinrmTransport

from .fake_wsman import FakeWsman
from .simlab import REPO, SimulatedHosts, hvdyn, simulated_lab


@pytest.fixture
def winrm_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SimulatedHosts, FakeWsman, Path]]:
    with simulated_lab(WinrmTransport, "winrm", tmp_path, monkeypatch) as lab:
        yield lab


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


def test_apply_over_winrm_uses_one_shell_per_host_and_converges(
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
    restarts = {h["host"]: sum(1 for vm in h["vms"] if vm["restart"]) for h in doc["hosts"]}
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
