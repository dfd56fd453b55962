"""Real-host conditions end to end through the CLI on the simulated host."""

from __future__ import annotations

from pathlib import Path

from tests.runner import Hvdyn

POLICY = "version: 1\ninventory: inv.yaml\ndefaults: {dynamic: true, startup: 1GB, maximum: 8GB}\n"


def lab(tmp_path: Path, host: str, vm_extra: str) -> Path:
    (tmp_path / "hv.yaml").write_text(
        f"host: {{memory: 16GB{host}}}\nvms:\n"
        "  - {name: desk-01, os: Windows 7 Enterprise,"
        f" memory: {{dynamic: true, startup: 1GB, maximum: 2GB}}{vm_extra}}}\n",
        encoding="utf-8",
    )
    (tmp_path / "inv.yaml").write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n"
        "  hosts:\n    hv01: {hvdyn_mock_fixture: hv.yaml}\n",
        encoding="utf-8",
    )
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    return tmp_path / "policy.yaml"


def test_locked_guest_pending_names_the_option_then_applies_with_it(
    hvdyn: Hvdyn, tmp_path: Path
) -> None:
    policy = lab(tmp_path, "", ", locked: true")
    first = hvdyn("apply", policy, "--allow-restart", "--format", "json")
    assert first.exit_code == 2, first.stdout + first.stderr
    vm = first.json()["hosts"][0]["vms"][0]
    text = str(vm)
    assert "32781" in text and "--force-shutdown" in text
    second = hvdyn("apply", policy, "--allow-restart", "--force-shutdown", "--format", "json")
    assert second.exit_code == 0, second.stdout + second.stderr
    assert hvdyn("plan", policy).exit_code == 0


def test_failing_cluster_provider_warning_reaches_the_plan(hvdyn: Hvdyn, tmp_path: Path) -> None:
    policy = lab(tmp_path, ", cluster: fails", "")
    run = hvdyn("plan", policy, "--format", "json")
    assert run.exit_code == 2
    assert "HVD014" in run.stdout and "root\\\\MSCluster" in run.stdout
    table = hvdyn("plan", policy)
    assert "HVD014" in table.stdout and "cluster check failed" in table.stdout


def test_german_host_is_discovered(hvdyn: Hvdyn, tmp_path: Path) -> None:
    policy = lab(tmp_path, ", locale: de-DE", "")
    run = hvdyn("plan", policy, "--format", "json")
    assert run.exit_code == 2
    assert [v["name"] for v in run.json()["hosts"][0]["vms"]] == ["desk-01"]
