"""Audit as a terminal table or JSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hvdyn.analysis.audit import AuditReport
from hvdyn.core.findings import Kind, Severity
from hvdyn.formats.text import printable

_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}


def audit_json(report: AuditReport) -> str:
    document: dict[str, Any] = {
        "policy": report.policy,
        "since_s": int(report.since.total_seconds()),
        "run_id": report.run_id,
        "exit_code": report.exit_code,
        "hosts": [
            {"host": h.host, "status": str(h.result.status), "error": h.result.error,
             "window": list(h.window) if h.window else None,
             "vms": len(h.facts.vms) if h.facts else 0, "samples": len(h.samples),
             "overcommit": None if h.overcommit is None else round(h.overcommit, 4)}
            for h in report.hosts
        ],
        "findings": [
            {"id": f.id, "severity": f.severity, "kind": f.kind, "host": f.host,
             "vm_id": f.vm_id, "vm": f.vm_name, "message": f.message,
             "remediation": f.remediation}
            for f in report.findings
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def print_audit(report: AuditReport, console: Console) -> None:
    for host in report.hosts:
        mine = [f for f in report.findings if f.host == host.host]
        window = " .. ".join(host.window) if host.window else "no samples"
        noun = "finding" if len(mine) == 1 else "findings"
        console.print(Text(f"{host.host}: {host.result.status} ({len(mine)} {noun}; "
                           f"window {window})", style="bold"))
        if not mine:
            continue
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("id", "severity", "VM", "message"):
            table.add_column(column, overflow="fold")
        for f in mine:
            table.add_row(f.id, Text(f.severity, _STYLE[f.severity]),
                          printable(f.vm_name or "-"), f.message)
        console.print(table)
    counts = Counter(f.severity for f in report.findings)
    drift = sum(1 for f in report.findings if f.kind is Kind.DRIFT)
    console.print(Text(
        f"summary: {len(report.hosts)} hosts, {drift} drift, {counts[Severity.ERROR]} error, "
        f"{counts[Severity.WARNING]} warning, {counts[Severity.INFO]} info; "
        f"exit {report.exit_code}",
        style="bold"))
