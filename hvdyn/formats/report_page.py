"""The `hvdyn report` page (and the charts of the audit page): overview first, then detail.

Layout, from what an operator asks first: which host needs a look (the
overview: VMs, worst pressure, health findings, applies, a small chart,
a link), then that host (its findings, host-wide charts with the top VMs
named), then each VM as a small chart on a shared time axis (small
multiples: 40 VMs stay comparable where 40 lines in one chart do not).
Plain HTML with inline SVG and CSS: no script, no external link.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
from collections.abc import Sequence
from html import escape

from hvdyn.analysis.audit import balancer_findings, pressure_findings
from hvdyn.analysis.recommend import percentile
from hvdyn.core.findings import Finding
from hvdyn.core.model import format_mb
from hvdyn.formats import charts
from hvdyn.formats.chart_data import HostHistory, SettingsInterval
from hvdyn.formats.svg import Chart, render

CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1500px}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
th{background:#f3f3f3}
.error{color:#b00020;font-weight:bold}.warning{color:#a15c00}.info{color:#555}
section{margin-bottom:2em;border-top:2px solid #ccc;padding-top:.5em}
.vms{display:grid;grid-template-columns:repeat(auto-fill,minmax(350px,1fr));gap:12px}
.vm{border:1px solid #ddd;padding:6px;border-radius:4px}
.vm h4{margin:0 0 4px;font-size:14px}.vm p{margin:2px 0;font-size:12px;color:#444}
.legend span{display:inline-block;margin-right:1.2em;font-size:12px}
.legend i{display:inline-block;width:18px;height:0;border-top:2px solid;margin-right:4px;
vertical-align:middle}
nav a{margin-right:1em}
svg{max-width:100%;height:auto}
.hot{color:#b00020;font-weight:bold}
"""


def anchor(*parts: str) -> str:
    """An id attribute value from host/VM names (ASCII letters, digits, '-').

    Names that lose characters get a short hash of the original, so `hv.01`
    and `hv-01` do not share an anchor.
    """
    text = "-".join(parts)
    clean = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "x"
    if clean != text.lower():
        clean += "-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]
    return clean


DETAIL_HOSTS = 5  # more hosts on one page: the overview alone


def page(title: str, parts: Sequence[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<h1 id="top">{escape(title)}</h1>\n' + "\n".join(parts) + "\n</body>\n</html>\n"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]],
          classes: Sequence[str] | None = None, *, raw: bool = False) -> str:
    """An HTML table; cells are escaped unless `raw` (then they are HTML already)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cls = f' class="{escape(classes[index])}"' if classes else ""
        cells = "".join(f"<td>{c if raw else escape(c)}</td>" for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def health_findings(history: HostHistory) -> list[Finding]:
    """The audit's health findings from the stored counters (no host contacted)."""
    buffers = {vm_id: spans[-1].buffer for vm_id, spans in history.timelines.items()
               if spans and spans[-1].dynamic}
    return (pressure_findings(history.host, history.samples, buffers)
            + balancer_findings(history.host, history.balancer))


def settings_text(timeline: Sequence[SettingsInterval]) -> str:
    """The VM's settings now, and since when when they changed inside the window."""
    if not timeline:
        return "settings not stored"
    current = timeline[-1]
    if not current.dynamic:
        text = f"static {format_mb(current.startup_mb)}"
    else:
        text = (f"dynamic {format_mb(current.startup_mb)}..{format_mb(current.maximum_mb)}, "
                f"buffer {current.buffer}%")
    if len(timeline) > 1:
        text += f" since {current.start:%Y-%m-%d %H:%M}"
        if current.dynamic != timeline[-2].dynamic:
            text += f" ({'static' if current.dynamic else 'dynamic'} before)"
    elif not current.dynamic:
        text += " (no pressure counters)"
    return text


def _p95(history: HostHistory, vm_id: str) -> float | None:
    rows = history.vm_rows.get(vm_id, [])
    values = [v for _, v in charts.pressure_points(rows, history.timelines.get(vm_id, []))
              if not math.isnan(v)]
    return percentile(values, 95) if values else None


def overview(histories: Sequence[HostHistory], findings: dict[str, list[Finding]],
             *, linked: bool = True) -> str:
    """One row per host; `linked`: host and VM names link to their sections below."""
    def link(text: str, *parts: str) -> str:
        return f'<a href="#{anchor(*parts)}">{escape(text)}</a>' if linked else escape(text)

    rows = []
    for h in histories:
        vms = h.vm_rows
        static = sum(1 for vm_id in vms if charts.is_static(h.timelines.get(vm_id, [])))
        ranked = sorted(((p, vm_id) for vm_id in vms if (p := _p95(h, vm_id)) is not None),
                        reverse=True)
        worst = "-"
        if ranked:
            p95, vm_id = ranked[0]
            name = vms[vm_id][-1].vm_name
            line = charts.vm_pressure_line(h.timelines.get(vm_id, []))
            cls = ' class="hot"' if p95 > line else ""
            worst = f"{link(name, h.host, vm_id)} <span{cls}>P95 {p95:.0f}%</span>"
        mine = findings.get(h.host, [])
        found = ", ".join(f'<span class="{escape(f.severity)}">{escape(f.id)}</span> '
                          f"{escape(f.vm_name or '')}" for f in mine) or "none"
        changes = ", ".join(e.label for e in h.events if h.span and
                            h.span[0] <= e.at <= h.span[1]) or "none"
        rows.append([
            link(h.host, h.host),
            f"{len(vms)} ({len(vms) - static} dynamic, {static} static)",
            worst, found, escape(changes),
            render(charts.host_sparkline(h.host, h.samples, h.timelines, h.span)),
        ])
    return "<h2>Overview</h2>" + table(
        ["host", "VMs", "highest pressure", "health findings", "applies in window",
         "highest VM pressure over the window"], rows, raw=True)


def _legend() -> str:
    items = [("#1f77b4", "solid", "assigned memory / average pressure"),
             ("#ff7f0e", "solid", "current pressure"),
             ("#2ca02c", "dashed", "startup (as set at the time)"),
             ("#d62728", "dashed", "maximum (as set at the time)"),
             ("#6a3d9a", "dotted", "apply / rollback run")]
    spans = "".join(f'<span><i style="border-top-color:{c};border-top-style:{s}"></i>'
                    f"{escape(t)}</span>" for c, s, t in items)
    return f'<p class="legend">{spans}</p>'


def vm_card(history: HostHistory, vm_id: str) -> str:
    rows = history.vm_rows[vm_id]
    name = rows[-1].vm_name
    timeline = history.timelines.get(vm_id, [])
    p95 = _p95(history, vm_id)
    facts = settings_text(timeline)
    if p95 is not None:
        facts += f"; average pressure P95 {p95:.0f}%"
    parts = [f'<div class="vm" id="{anchor(history.host, vm_id)}">',
             f"<h4>{escape(name)}</h4><p>{escape(facts)}</p>"]
    if not charts.is_static(timeline):
        parts.append(render(charts.vm_pressure("pressure", rows, timeline, history.events,
                                               history.span, small=True)))
    parts.append(render(charts.vm_memory("memory", rows, timeline, history.events,
                                         history.span, small=True)))
    parts.append("</div>")
    return "".join(parts)


def host_section(history: HostHistory, findings: Sequence[Finding], vm_glob: str | None,
                 *, heading: str = "") -> str:
    """One host: its findings, host-wide charts, and a small chart per VM."""
    h = history
    span = h.span
    window = (f"{span[0]:%Y-%m-%d %H:%M} .. {span[1]:%Y-%m-%d %H:%M} UTC" if span
              else "no samples")
    parts = [f'<section id="{anchor(h.host)}"><h2>{escape(h.host)}</h2>',
             f"<p>{heading}samples {escape(window)} (the host's clock); "
             f'<a href="#top">back to the top</a></p>']
    if findings:
        parts.append(table(["id", "severity", "VM", "message"],
                           [[f.id, f.severity, f.vm_name or "-", f.message] for f in findings],
                           [f.severity for f in findings]))
    parts.append(render(charts.host_pressure(h.host, h.samples, h.timelines, h.events, h.span)))
    parts.append(render(charts.host_available(h.host, h.balancer, h.events, h.span)))
    vms = selected_vms(h, vm_glob)
    parts.append(f"<h3>{len(vms)} VMs</h3>{_legend()}")
    parts.append('<div class="vms">' + "".join(vm_card(h, v) for v in vms) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def report_html(histories: Sequence[HostHistory], title: str, intro: str,
                vm_glob: str | None = None) -> str:
    """Overview first, then each host's charts and VM cards.

    More than `DETAIL_HOSTS` hosts (and no --vm) give the overview alone, so a
    fleet's page stays readable and bounded: `--limit HOST` draws a host.
    """
    findings = {h.host: health_findings(h) for h in histories}
    if len(histories) > DETAIL_HOSTS and vm_glob is None:
        note = (f"{len(histories)} hosts: the overview only. `hvdyn report --limit HOST` "
                "(a name, a glob or a group) draws a host's charts and its VMs.")
        return page(title, [f"<p>{escape(intro)}</p>", f"<p>{escape(note)}</p>",
                            overview(histories, findings, linked=False)])
    nav = " ".join(f'<a href="#{anchor(h.host)}">{escape(h.host)}</a>' for h in histories)
    parts = [f"<p>{escape(intro)}</p>", f"<nav>Hosts: {nav}</nav>",
             overview(histories, findings)]
    parts += [host_section(h, findings[h.host], vm_glob) for h in histories]
    return page(title, parts)


def svg_charts(histories: Sequence[HostHistory], vm_glob: str | None) -> list[Chart]:
    """The charts of the page, full size, for one stacked SVG file (`report -o x.svg`)."""
    out: list[Chart] = []
    for h in histories:
        out.append(charts.host_available(h.host, h.balancer, h.events, h.span))
        out.append(charts.host_pressure(h.host, h.samples, h.timelines, h.events, h.span))
        for vm_id in selected_vms(h, vm_glob):
            rows = h.vm_rows[vm_id]
            timeline = h.timelines.get(vm_id, [])
            title = f"{h.host}/{rows[-1].vm_name}"
            if not charts.is_static(timeline):
                out.append(charts.vm_pressure(f"{title}: memory pressure", rows, timeline,
                                              h.events, h.span))
            out.append(charts.vm_memory(f"{title}: assigned memory", rows, timeline, h.events,
                                        h.span))
    return out


def selected_vms(h: HostHistory, vm_glob: str | None) -> list[str]:
    """The VM ids of a host that `--vm` selects (name glob or GUID), ordered by name."""
    return [vm_id for vm_id, rows in h.vm_rows.items()
            if vm_glob is None or fnmatch.fnmatch(rows[-1].vm_name.lower(), vm_glob.lower())
            or vm_glob.lower().strip("{}") == vm_id.lower()]
