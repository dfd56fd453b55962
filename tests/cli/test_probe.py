"""hvdyn probe against the simulated lab: read-only, table and JSON, locale and cluster answers."""

from __future__ import annotations

from pathlib import Path

from tests.runner import Hvdyn

from .helpers import LAB_INVENTORY


def test_probe_lab_json_is_read_only(hvdyn: Hvdyn, tmp_path: Path) -> None:
    hvdyn("plan", LAB_INVENTORY.parent.parent / "examples" / "lab.yaml")  # state exists
    state = {p: p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file()}
    run = hvdyn("probe", "-i", LAB_INVENTORY, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.isascii()
    hosts = run.json()["hosts"]
    assert len(hosts) == 3 and all(h["ok"] for h in hosts)
    checks = {c["check"]: c for c in hosts[0]["checks"]}
    assert set(checks) >= {"delivery", "versions", "winrm_quotas", "locale", "virtualization",
                           "vm_captions", "counters_vm", "counters_balancer", "cluster",
                           "exit_code", "delivery_mock"}
    assert checks["counters_balancer"]["data"]["instances"] == ["System Balancer"]
    after = {p: p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file()}
    assert after == state  # the simulated hosts (and the store) are byte for byte the same


def test_probe_table_shows_localized_captions_and_cluster_failure(
    hvdyn: Hvdyn, tmp_path: Path
) -> None:
    (tmp_path / "hv.yaml").write_text(
        "host: {memory: 16GB, locale: sv-SE, cluster: fails, balancer_counters: false}\n"
        "vms:\n  - {name: a, memory: {startup: 1GB}}\n",
        encoding="utf-8",
    )
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n"
        "  hosts:\n    hv-se: {hvdyn_mock_fixture: hv.yaml}\n",
        encoding="utf-8",
    )
    run = hvdyn("probe", "-i", inventory)
    assert run.exit_code == 0, run.stderr
    assert "Virtuell dator" in run.stdout and "UI sv-SE" in run.stdout
    data = hvdyn("probe", "-i", inventory, "--format", "json").json()["hosts"][0]
    checks = {c["check"]: c for c in data["checks"]}
    assert checks["cluster"]["status"] == "error"
    assert checks["counters_vm"]["status"] == "error"
    assert checks["vm_captions"]["data"]["vms_by_english_caption"] == 0


def test_probe_help_says_read_only(hvdyn: Hvdyn) -> None:
    run = hvdyn("probe", "--help")
    assert run.exit_code == 0 and "Read-only" in run.stdout and "Changes nothing" in run.stdout
