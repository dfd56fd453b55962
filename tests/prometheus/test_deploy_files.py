"""deploy/: the alerting rules pass promtool (syntax and their unit tests); the dashboard
and the rules only use series the exporter serves."""

from __future__ import annotations

import json
import re
import subprocess

from hvdyn.history import metric_names as m

from .servers import DASHBOARD, RULES, need_binary

EXPORTED = {s.exposed for s in (*m.VM_SAMPLE_SERIES, *m.VM_SETTINGS_SERIES, *m.BALANCER_SERIES,
                                *m.HOST_MEMORY_SERIES)} | {
    m.VM_INFO, m.UP, m.SAMPLE_TIMESTAMP, m.COLLECTION_TIMESTAMP, m.COLLECTION_SUCCESS_TIMESTAMP,
    m.COLLECTION_DURATION, f"{m.COLLECTIONS}_total", f"{m.COLLECTION_FAILURES}_total",
    m.AMBIGUOUS, m.AUDIT_FINDINGS, m.AUDIT_SUCCESS, m.AUDIT_TIMESTAMP, m.DRIFT, m.OVERCOMMIT}


def _names(text: str) -> set[str]:
    return set(re.findall(r"\bhvdyn_[a-z_]+\b", text)) - {"hvdyn_rules"}


def test_promtool_checks_the_rules_and_runs_their_unit_tests() -> None:
    promtool = need_binary("promtool")
    check = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout + check.stderr
    unit = subprocess.run([promtool, "test", "rules", RULES.with_suffix(".test.yml").name],
                          capture_output=True, text=True, cwd=RULES.parent)
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_rules_and_dashboard_use_only_exported_series() -> None:
    rules = RULES.read_text()
    dashboard = DASHBOARD.read_text()
    assert _names(rules) and _names(rules) <= EXPORTED, _names(rules) - EXPORTED
    assert _names(dashboard) <= EXPORTED, _names(dashboard) - EXPORTED


def test_dashboard_is_provisioning_ready_with_host_and_vm_variables() -> None:
    doc = json.loads(DASHBOARD.read_text())
    assert doc["uid"] and "id" not in doc  # provisioned dashboards are found by uid
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert "label_values(hvdyn_up, host)" in json.dumps(variables["host"]["query"])
    assert "$host" in json.dumps(variables["vm"]["query"])
    targets = [t for p in doc["panels"] for t in p.get("targets", ())]
    assert targets and all(t["datasource"]["uid"] == "${datasource}" for t in targets)
    used = " ".join(t["expr"] for t in targets)
    for series in ("hvdyn_vm_pressure_average_percent", "hvdyn_vm_assigned_memory_bytes",
                   "hvdyn_vm_startup_memory_bytes", "hvdyn_vm_maximum_memory_bytes",
                   "hvdyn_balancer_available_memory_bytes", "hvdyn_vm_drift_settings",
                   "hvdyn_up", "hvdyn_collection_duration_seconds"):
        assert series in used, series
    vm_panels = [t["expr"] for t in targets if "hvdyn_vm_" in t["expr"]]
    assert all('vm=~"$vm"' in e or "hvdyn_vm_drift" in e or "sum by (host)" in e
               for e in vm_panels), vm_panels
