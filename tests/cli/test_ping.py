"""hvdyn ping on simulated hosts: per-host facts, a failure with its hint, exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.runner import Hvdyn

from .helpers import LAB_INVENTORY


def test_ping_the_lab(hvdyn: Hvdyn) -> None:
    run = hvdyn("ping", "-i", LAB_INVENTORY, "--format", "json")
    assert run.exit_code == 0, run.stdout
    hosts = run.json()["hosts"]
    assert [h["host"] for h in hosts] == ["hv-full-01", "hv-srv-01", "hv-vdi-01"]
    assert all(h["ok"] and h["virtualization"] and h["ps_version"] == "2.0" for h in hosts)


def test_unreachable_host_fails_ping_with_exit_1(hvdyn: Hvdyn, tmp_path: Path) -> None:
    (tmp_path / "down.yaml").write_text(
        "host: {memory: 16GB}\n"
        "vms: []\n"
        "faults:\n  - {op: connect, error: unreachable}\n",
        encoding="utf-8",
    )
    (tmp_path / "up.yaml").write_text("host: {memory: 16GB}\nvms: []\n", encoding="utf-8")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n"
        "    down-01: {hvdyn_mock_fixture: down.yaml}\n"
        "    up-01: {hvdyn_mock_fixture: up.yaml}\n",
        encoding="utf-8",
    )
    run = hvdyn("ping", "-i", inventory)
    assert run.exit_code == 1
    assert "down-01: failed" in run.stdout and "up-01: ok" in run.stdout
    assert "hint:" in run.stdout
