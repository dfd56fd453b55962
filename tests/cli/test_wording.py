"""Wording an operator reads: one format for values, counts that agree, hints that fit."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from hvdyn.analysis.audit import AuditReport, HostAudit, pressure_findings
from hvdyn.analysis.audit.rules import NO_SAMPLES
from hvdyn.core.findings import Finding
from hvdyn.core.model import HostPlan, HostResult, HostStatus
from hvdyn.formats.audit_text import print_audit
from hvdyn.history.rows import SampleRow
from tests.runner import run_cli

from .helpers import LAB_INVENTORY, LAB_POLICY


def _run(state: Path, *args: str | Path) -> tuple[int, str, str]:
    result = run_cli(*args, state_dir=state, catch_exceptions=True)
    return result.exit_code, result.stdout, result.stderr


def test_duplicate_names_reported_once_with_the_ids(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "plan", LAB_POLICY, "--limit", "hv-vdi-01")
    assert code == 2
    lines = [ln for ln in out.splitlines() if "HVD008" in ln]
    assert len(lines) == 1
    assert "'desk-shared'" in lines[0] and lines[0].count("-") >= 8  # both GUIDs shown


def test_ping_help_and_missing_inventory(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "ping", "--help")
    assert code == 0 and "without changes" not in out and "-v" not in out.split()
    code, _, err = _run(tmp_path, "ping")
    assert code == 3 and "pass -i/--inventory" in err and "inventory:` in the policy" not in err
    code, out, _ = _run(tmp_path, "ping", "-i", LAB_INVENTORY, "--limit", "hv-srv-01")
    assert code == 0 and out.startswith("hv-srv-01: ok")


def test_missing_policy_has_no_made_up_position(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, "plan", tmp_path / "nosuch.yaml")
    assert code == 3
    assert err.strip() == f"hvdyn: {tmp_path / 'nosuch.yaml'}: cannot read: No such file or " \
        "directory"


def test_share_of_samples_reads_once() -> None:
    rows = [SampleRow(host="h", vm_id="A", vm_name="a", ts=f"2026-01-01T00:{m:02d}:00Z",
                      average_pressure=120 if m < 40 else 50) for m in range(48)]
    (finding,) = pressure_findings("h", rows)
    assert "above 100% in 40 of 48 samples, 2026-01-01T00:00:00Z..2026-01-01T00:47:00Z" \
        in finding.message
    assert "/" not in finding.message.split("samples")[0]


def test_audit_counts_one_finding_in_the_singular() -> None:
    result = HostResult(host="h", status=HostStatus.OK, plan=HostPlan(host="h", facts=None))
    report = AuditReport(policy="p.yaml", since=timedelta(hours=24),
                         hosts=[HostAudit(host="h", result=result, window=None)],
                         findings=[Finding(rule=NO_SAMPLES, host="h", message="no samples",
                                           remediation="collect")])
    out = io.StringIO()
    print_audit(report, Console(file=out, width=200, color_system=None))
    assert "h: ok (1 finding; window no samples)" in out.getvalue()
