"""Audit as a node_exporter textfile-collector file (Prometheus text format 0.0.4).

Metric names are documented in docs/metrics.md (contract for dashboards).
Sizes are bytes and ratios plain numbers, as Prometheus conventions ask.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence

from hvdyn.analysis.audit import AuditReport
from hvdyn.analysis.catalog import RULES
from hvdyn.core.findings import Kind
from hvdyn.core.model import SettingName, VmFacts

MB = 1024 * 1024


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, help_text: str,
               samples: Sequence[tuple[Mapping[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} gauge")
        self.lines += [f"{name}{_labels(labels)} {_number(v)}" for labels, v in samples]


def to_prometheus(report: AuditReport, *, now: float | None = None) -> str:
    w = _Writer()
    counts: Counter[tuple[str, str]] = Counter((f.host, f.id) for f in report.findings)
    w.metric("hvdyn_audit_findings", "Audit findings by host, finding id and severity.",
             [({"host": h, "id": i, "severity": RULES[i].severity}, n)
              for (h, i), n in sorted(counts.items())])
    w.metric("hvdyn_host_audit_success", "1 when the host was discovered and audited.",
             [({"host": h.host}, 0.0 if h.failed else 1.0) for h in report.hosts])
    drift: Counter[str] = Counter(f.vm_id.upper() for f in report.findings
                                  if f.kind is Kind.DRIFT and f.vm_id)
    vm_rows: list[tuple[dict[str, str], VmFacts]] = []
    for h in report.hosts:
        for vm in (h.facts.vms if h.facts is not None else ()):
            vm_rows.append(({"host": h.host, "vm": vm.name, "vm_id": vm.id.upper()}, vm))
    w.metric("hvdyn_vm_drift_settings", "Settings of the VM that differ from the policy.",
             [(labels, float(drift[labels["vm_id"]])) for labels, _ in vm_rows])
    w.metric("hvdyn_vm_dynamic_memory_enabled", "1 when Dynamic Memory is on for the VM.",
             [(labels, 1.0 if vm.memory.dynamic else 0.0) for labels, vm in vm_rows])
    sizes: tuple[tuple[SettingName, str], ...] = (
        ("startup_mb", "Configured startup memory in bytes."),
        ("maximum_mb", "Configured maximum memory in bytes."))
    for field, help_text in sizes:
        name = f"hvdyn_vm_{field[:-3]}_memory_bytes"
        w.metric(name, help_text, [
            (labels, float(vm.memory.get(field)) * MB) for labels, vm in vm_rows
        ])
    pressure: list[tuple[Mapping[str, str], float]] = []
    assigned: list[tuple[Mapping[str, str], float]] = []
    for h in report.hosts:
        for v in h.vms:
            labels = {"host": h.host, "vm": v.vm_name, "vm_id": v.vm_id}
            if v.mean_pressure is not None:
                pressure.append((labels, round(v.mean_pressure, 2)))
            if v.assigned_mb is not None:
                assigned.append((labels, float(v.assigned_mb) * MB))
    w.metric("hvdyn_vm_average_pressure_percent",
             "Mean of the VM's Average Pressure counter over the audit window.", pressure)
    w.metric("hvdyn_vm_assigned_memory_bytes",
             "Newest Physical Memory counter (memory assigned to the VM) in bytes.", assigned)
    available = [({"host": h.host}, float(h.balancer[-1].available_mb) * MB)
                 for h in report.hosts if h.balancer and h.balancer[-1].available_mb is not None]
    w.metric("hvdyn_host_available_memory_bytes",
             "Newest balancer Available Memory counter in bytes.", available)
    w.metric("hvdyn_host_overcommit_ratio",
             "Sum of DM maximums over (host RAM - policy reserve).",
             [({"host": h.host}, round(h.overcommit, 4)) for h in report.hosts
              if h.overcommit is not None])
    w.metric("hvdyn_audit_exit_code", "Exit code of the audit run (0 ok, 1 failed, 2 drift).",
             [({}, float(report.exit_code))])
    w.metric("hvdyn_audit_last_run_timestamp_seconds", "When the audit ran (Unix time).",
             [({}, float(int(now if now is not None else time.time())))])
    return "\n".join(w.lines) + "\n"
