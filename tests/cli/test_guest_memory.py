"""A VM that is off reports no guest OS; hvdyn remembers what it reported while running."""

from __future__ import annotations

from pathlib import Path

from hvdyn.core.model import GuestInfo, Heartbeat, HostFacts, MemorySettings, VmFacts, VmState
from hvdyn.run.engine import with_remembered_guests
from hvdyn.sim import session
from tests.runner import Hvdyn

FIXTURE = """\
host: {memory: 32GB}
vms:
  - {name: desk-01, id: 11111111-0000-4000-8000-000000000001, state: running,
     os: Windows 7 Enterprise, memory: {dynamic: true, startup: 1GB, maximum: 4GB}}
"""
POLICY = """\
version: 1
defaults: {weight: 5000}
rules:
  - name: desktops
    match: {os: "Windows 7*"}
    set: {weight: 3000}
"""


def world(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "f.yaml").write_text(FIXTURE, encoding="utf-8")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n    hv01: {hvdyn_mock_fixture: f.yaml}\n",
        encoding="utf-8",
    )
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return inventory, policy, tmp_path / "state"


def switch_off(state: Path, fixture: Path) -> None:
    with session(state, "hv01", fixture) as host:
        host.vms[0].state = 3


def test_off_vm_is_left_alone_when_its_os_was_never_seen(hvdyn: Hvdyn, tmp_path: Path) -> None:
    inventory, policy, state = world(tmp_path)
    switch_off(state, tmp_path / "f.yaml")
    run = hvdyn("plan", policy, "-i", inventory, "--format", "json", state_dir=state)
    vm = run.json()["hosts"][0]["vms"][0]
    assert run.exit_code == 0 and vm["changes"] == []
    assert "guest OS is unknown" in vm["reason"] and "desktops" in vm["reason"]


def test_off_vm_is_planned_with_the_os_it_reported_while_running(
    hvdyn: Hvdyn, tmp_path: Path
) -> None:
    inventory, policy, state = world(tmp_path)
    seen = hvdyn("plan", policy, "-i", inventory, "--format", "json", state_dir=state)
    assert seen.json()["hosts"][0]["vms"][0]["os_seen"] is None  # reported live
    switch_off(state, tmp_path / "f.yaml")
    run = hvdyn("plan", policy, "-i", inventory, "--format", "json", state_dir=state)
    vm = run.json()["hosts"][0]["vms"][0]
    assert run.exit_code == 2 and vm["state"] == "off"
    assert vm["os"] == "Windows 7 Enterprise" and vm["os_seen"]
    assert [(c["field"], c["desired"]) for c in vm["changes"]] == [("weight", 3000)]
    explain = hvdyn("explain", policy, "-i", inventory, "--vm", "desk-01", state_dir=state)
    assert "last reported" in explain.stdout and "desktops" in explain.stdout


def test_dry_run_and_render_do_not_write_the_memory(hvdyn: Hvdyn, tmp_path: Path) -> None:
    inventory, policy, state = world(tmp_path)
    assert hvdyn("apply", policy, "-i", inventory, "--dry-run", state_dir=state).exit_code == 2
    assert (
        hvdyn("render", policy, "-i", inventory, "-o", tmp_path / "out", state_dir=state).exit_code
        == 0
    )
    switch_off(state, tmp_path / "f.yaml")
    run = hvdyn("plan", policy, "-i", inventory, "--format", "json", state_dir=state)
    assert "guest OS is unknown" in run.json()["hosts"][0]["vms"][0]["reason"]


def test_remembered_guest_keeps_the_live_heartbeat() -> None:
    memory = MemorySettings(
        dynamic=True, startup_mb=1024, minimum_mb=1024, maximum_mb=4096, buffer=20, weight=5000
    )
    off = VmFacts(id="a-1", name="x", state=VmState.OFF, memory=memory)
    running = VmFacts(
        id="b-2",
        name="y",
        state=VmState.RUNNING,
        memory=memory,
        guest=GuestInfo(os_name="Windows 7 Enterprise", heartbeat=Heartbeat.OK),
    )
    facts = HostFacts(name="hv", total_mb=1, free_mb=1, vms=(off, running))
    known = {
        "A-1": (GuestInfo(os_name="Windows 7 Ultimate", arch="x86", heartbeat=Heartbeat.OK), "t1"),
        "B-2": (GuestInfo(os_name="stale"), "t0"),
    }
    got = with_remembered_guests(facts, known)
    assert got.vms[0].guest == GuestInfo(os_name="Windows 7 Ultimate", arch="x86")
    assert got.vms[0].guest_seen == "t1"
    assert got.vms[1] == running  # a VM reporting live is never overridden


def test_explain_lists_the_rules_that_match_and_the_undecided(
    hvdyn: Hvdyn, tmp_path: Path
) -> None:
    inventory, policy, state = world(tmp_path)
    policy.write_text(POLICY + "  - name: by-name\n    match: {vm: desk-*}\n"
                      "    set: {buffer: 10}\n", encoding="utf-8")
    switch_off(state, tmp_path / "f.yaml")
    run = hvdyn("explain", policy, "-i", inventory, "--vm", "desk-01", state_dir=state)
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert "  rules matched: by-name" in lines  # not "none (defaults only)"
    assert "  cannot be decided without the guest OS: desktops" in lines
    assert any(ln.startswith("  left alone: its guest OS is unknown") for ln in lines)
    doc = hvdyn("explain", policy, "-i", inventory, "--vm", "desk-01", "--format", "json",
                state_dir=state).json()["vms"][0]
    assert doc["rules"] == ["by-name"] and doc["undecided"] == ["desktops"]
