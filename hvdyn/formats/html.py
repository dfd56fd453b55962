"""One self-contained HTML file (inline CSS and SVG, no scripts, no external links)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from hvdyn.audit import AuditReport
from hvdyn.formats import charts
from hvdyn.formats.svg import Chart, render

_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
th{background:#f3f3f3}
.error{color:#b00020;font-weight:bold}.warning{color:#a15c00}.info{color:#555}
section{margin-bottom:2em}
"""


def page(title: str, parts: Sequence[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n" + "\n".join(parts) + "\n</body>\n</html>\n"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]],
          classes: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cls = f' class="{escape(classes[index])}"' if classes else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def charts_html(items: Sequence[Chart]) -> str:
    return "\n".join(f"<figure>{render(c)}</figure>" for c in items)


def audit_html(report: AuditReport) -> str:
    failing = sum(1 for f in report.findings if f.fails)
    parts = [
        f"<p>Policy <code>{escape(report.policy)}</code>; health window "
        f"{escape(str(report.since))} back from each host's newest sample; exit code "
        f"{report.exit_code}; {len(report.findings)} findings ({failing} failing).</p>",
    ]
    rows = [[f.id, f.severity, f.host, f.vm_name or "", f.message, f.remediation]
            for f in report.findings]
    parts.append("<h2>Findings</h2>")
    parts.append(table(["id", "severity", "host", "VM", "message", "remediation"], rows,
                       [f.severity for f in report.findings]) if rows else "<p>None.</p>")
    for host in report.hosts:
        window = " .. ".join(host.window) if host.window else "no samples"
        parts.append(f"<section><h2>{escape(host.host)}</h2><p>status "
                     f"{escape(str(host.result.status))}; window {escape(window)}</p>")
        parts.append(charts_html([
            charts.host_pressure(host.host, host.samples),
            charts.host_assigned(host.host, host.samples),
            charts.host_available(host.host, host.balancer),
        ]))
        parts.append("</section>")
    return page("hvdyn audit", parts)
