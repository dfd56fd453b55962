"""The audit as one self-contained HTML file (inline CSS and SVG, no scripts, no links out)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from hvdyn.analysis.audit import AuditReport
from hvdyn.formats.chart_data import HostHistory
from hvdyn.formats.report_page import host_section, page, table


def audit_html(report: AuditReport, since: str, histories: Sequence[HostHistory] = ()) -> str:
    """Findings first, then per host its charts (`histories`: read from the store).

    `since` is the health window as the user typed it ("24h"), not a timedelta's text.
    """
    failing = sum(1 for f in report.findings if f.fails)
    count = len(report.findings)
    parts = [
        f"<p>Policy <code>{escape(report.policy)}</code>; health window "
        f"{escape(since)} back from each host's newest sample; exit code "
        f"{report.exit_code}; {count} finding{'' if count == 1 else 's'} "
        f"({failing} failing).</p>",
    ]
    rows = [[f.id, f.severity, f.host, f.vm_name or "", f.message, f.remediation]
            for f in report.findings]
    parts.append("<h2>Findings</h2>")
    parts.append(table(["id", "severity", "host", "VM", "message", "remediation"], rows,
                       [f.severity for f in report.findings]) if rows else "<p>None.</p>")
    by_host = {h.host: h for h in histories}
    for host in report.hosts:
        status = f"status {host.result.status}; "
        history = by_host.get(host.host)
        if history is None or history.start is None:
            parts.append(f"<section><h2>{escape(host.host)}</h2><p>{escape(status)}no samples "
                         "stored: run `hvdyn collect`</p></section>")
            continue
        parts.append(host_section(history, [], None, heading=escape(status)))
    return page("hvdyn audit", parts)
