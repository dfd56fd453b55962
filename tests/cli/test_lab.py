"""End to end on the bundled lab: plan, apply, converge, idempotence, exit codes."""

from __future__ import annotations

from pathlib import Path

from tests.runner import Hvdyn

from .helpers import LAB_INVENTORY, LAB_POLICY

FIELD_NAMES = {"dynamic", "startup_mb", "minimum_mb", "maximum_mb", "buffer", "weight"}


def test_plan_reports_drift_with_exit_2_and_the_json_contract(hvdyn: Hvdyn) -> None:
    run = hvdyn("plan", LAB_POLICY, "--format", "json")
    assert run.exit_code == 2, run.stderr
    doc = run.json()
    assert set(doc["summary"]) >= {"hosts", "vms", "changes", "pending", "failed"}
    assert doc["summary"]["hosts"] == 3 and doc["summary"]["changes"] > 0
    host = doc["hosts"][0]
    assert set(host) >= {"host", "status", "error", "vms"}
    vm = next(v for h in doc["hosts"] for v in h["vms"] if v["changes"])
    assert set(vm) >= {"id", "name", "state", "changes", "reason"}
    change = vm["changes"][0]
    assert set(change) >= {"field", "current", "desired", "needs_off", "status"}
    fields = {c["field"] for h in doc["hosts"] for v in h["vms"] for c in v["changes"]}
    assert fields <= FIELD_NAMES


def test_apply_with_restart_converges_and_second_run_is_a_noop(hvdyn: Hvdyn) -> None:
    first = hvdyn("apply", LAB_POLICY, "--allow-restart", "--format", "json")
    assert first.exit_code == 0, first.stdout[-2000:]
    summary = first.json()["summary"]
    assert summary["applied"] > 0 and summary["failed"] == 0 and summary["pending"] == 0
    # VMs that were restarted are running again.
    restarted = [v for h in first.json()["hosts"] for v in h["vms"] if v["restart"]]
    assert restarted and all(v["final_state"] == "running" for v in restarted)

    plan = hvdyn("plan", LAB_POLICY, "--format", "json")
    assert plan.exit_code == 0 and plan.json()["summary"]["changes"] == 0

    again = hvdyn("apply", LAB_POLICY, "--allow-restart", "--format", "json")
    assert again.exit_code == 0 and again.json()["summary"]["applied"] == 0


def test_apply_without_restart_leaves_needs_off_changes_pending(hvdyn: Hvdyn) -> None:
    run = hvdyn("apply", LAB_POLICY, "--format", "json")
    assert run.exit_code == 2
    doc = run.json()
    statuses = {c["status"] for h in doc["hosts"] for v in h["vms"] for c in v["changes"]}
    assert statuses <= {"applied", "pending"} and "pending" in statuses
    pending_vm = next(
        v
        for h in doc["hosts"]
        for v in h["vms"]
        if any(c["status"] == "pending" for c in v["changes"])
    )
    assert "--allow-restart" in pending_vm["reason"]
    assert pending_vm["final_state"] in (None, "running")
    # Only pending changes are left afterwards, and they all need the VM off.
    plan = hvdyn("plan", LAB_POLICY, "--format", "json").json()
    left = [c for h in plan["hosts"] for v in h["vms"] for c in v["changes"]]
    assert left and all(c["needs_off"] and c["status"] == "pending" for c in left)


def test_dry_run_changes_nothing(hvdyn: Hvdyn) -> None:
    before = hvdyn("plan", LAB_POLICY, "--format", "json").json()
    run = hvdyn("apply", LAB_POLICY, "--allow-restart", "--dry-run")
    assert run.exit_code == 2
    assert "# ---- hv-vdi-01: apply" in run.stdout and "ModifyVirtualSystemResources" in run.stdout
    after = hvdyn("plan", LAB_POLICY, "--format", "json").json()
    assert before == after


def test_limit_selects_hosts_and_groups(hvdyn: Hvdyn) -> None:
    doc = hvdyn("plan", LAB_POLICY, "--limit", "vdi,hv-full-*", "--format", "json").json()
    assert [h["host"] for h in doc["hosts"]] == ["hv-full-01", "hv-vdi-01"]


def test_table_output_names_pending_reason_per_vm(hvdyn: Hvdyn) -> None:
    run = hvdyn("plan", LAB_POLICY, "--limit", "hv-srv-01")
    assert run.exit_code == 2
    assert "sql-01 (running)  needs the VM off (use --allow-restart" in run.stdout
    assert "summary:" in run.stdout


def test_validate_accepts_the_lab_policy(hvdyn: Hvdyn) -> None:
    run = hvdyn("validate", LAB_POLICY)
    assert run.exit_code == 0 and "valid" in run.stdout


def test_explain_shows_provenance(hvdyn: Hvdyn) -> None:
    run = hvdyn("explain", LAB_POLICY, "--vm", "sql-01", "--format", "json")
    assert run.exit_code == 0, run.stderr
    vm = run.json()["vms"][0]
    assert vm["rules"] == ["sql-static"]
    assert vm["values"]["dynamic"]["source"] == "sql-static"
    assert vm["values"]["dynamic"]["value"] is False
    assert vm["values"]["startup_mb"]["value"] == 8192
    assert vm["values"]["startup_mb"]["line"] > 0
    table = hvdyn("explain", LAB_POLICY, "--vm", "template-*")
    assert "excluded by exclude[0]" in table.stdout


def test_explain_unknown_vm_is_an_input_error(hvdyn: Hvdyn) -> None:
    run = hvdyn("explain", LAB_POLICY, "--vm", "no-such-vm")
    assert run.exit_code == 3 and "no VM matches" in run.stderr


def test_sim_reset_brings_back_the_fixture_state(hvdyn: Hvdyn) -> None:
    assert hvdyn("apply", LAB_POLICY, "--allow-restart").exit_code == 0
    assert hvdyn("plan", LAB_POLICY).exit_code == 0
    reset = hvdyn("sim", "reset", "-i", LAB_INVENTORY)
    assert reset.exit_code == 0 and "3 simulated hosts reset" in reset.stdout
    assert hvdyn("plan", LAB_POLICY).exit_code == 2


def test_tables_print_names_and_messages_as_text(hvdyn: Hvdyn, tmp_path: Path) -> None:
    """Names come from hosts and guests: rich markup in one is printed, not interpreted."""
    (tmp_path / "f.yaml").write_text(
        "host: {memory: 16GB}\nvms:\n"
        '  - {name: "[bold]x[/bold] [/]", state: running, os: "[red]Windows 7 Enterprise",'
        " memory: {dynamic: true, startup: 1GB, maximum: 4GB}}\n",
        encoding="utf-8",
    )
    (tmp_path / "inv.yaml").write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n    hv01: {hvdyn_mock_fixture: f.yaml}\n",
        encoding="utf-8",
    )
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\ndefaults: {weight: 100}\n"
        'rules:\n  - {name: "[b]lab[/b]", match: {vm: "*"}, set: {buffer: 25}}\n',
        encoding="utf-8",
    )
    run = hvdyn("plan", policy, "-i", tmp_path / "inv.yaml")
    assert run.exit_code == 2 and "[bold]x[/bold] [/]" in run.stdout
    explain = hvdyn("explain", policy, "-i", tmp_path / "inv.yaml", "--vm", "*x*")
    assert explain.exit_code == 0 and "[red]Windows 7 Enterprise" in explain.stdout
    assert "rules matched: [b]lab[/b]" in explain.stdout
