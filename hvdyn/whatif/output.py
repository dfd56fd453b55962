"""The what-if answer as terminal text, JSON (schema in docs/whatif.md) and HTML."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from hvdyn.analysis.audit import AVAILABLE_MIN_MB
from hvdyn.core.model import MemorySettings, format_mb
from hvdyn.formats.report_page import page, table
from hvdyn.formats.svg import Chart, Series, render
from hvdyn.formats.text import printable
from hvdyn.history.rows import parse_ts
from hvdyn.whatif.run import WhatifReport
from hvdyn.whatif.verdict import (
    AT_RISK,
    DOES_NOT_FIT,
    FITS,
    HostAnswer,
    HostFigures,
    VmAnswer,
    VmFigures,
)

SCHEMA_VERSION = 1
def charts_html(items: list[Chart]) -> str:
    return "\n".join(f"<figure>{render(c)}</figure>" for c in items)


_GRID_CSS = ("<style>.grid{display:flex;flex-wrap:wrap}.grid figure{margin:0 12px 12px 0}"
             "</style>")
_CURRENT_COLOR, _PROPOSED_COLOR = "#7f7f7f", "#1f77b4"


def settings_text(s: MemorySettings | None) -> str:
    if s is None:
        return "-"
    if not s.dynamic:
        return f"static {format_mb(s.startup_mb)}"
    return f"{format_mb(s.startup_mb)}..{format_mb(s.maximum_mb)} b{s.buffer} w{s.weight}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _mb(value: float | None) -> str:
    return "-" if value is None else format_mb(round(value))


def _trust_text(host: HostAnswer) -> str:
    t = host.trust
    if t.p95_error_pct is None:
        return "trust: no Dynamic Memory samples to compare"
    word = "model fits the record" if t.fits else "MODEL DOES NOT FIT THE RECORD"
    return (f"trust: {word} (assigned memory error median {t.median_error_pct:.1f}%, "
            f"p95 {t.p95_error_pct:.1f}% over {t.cells} VM samples)")


def summary_line(report: WhatifReport) -> str:
    verdicts = [h.proposed.verdict for h in report.hosts]
    untrusted = sum(1 for h in report.hosts if not h.trust.fits)
    parts = [f"{len(report.hosts)} hosts replayed: {verdicts.count(FITS)} fit, "
             f"{verdicts.count(AT_RISK)} at risk, {verdicts.count(DOES_NOT_FIT)} do not fit"]
    if untrusted:
        parts.append(f"the model does not fit the record on {untrusted}")
    if report.without_history:
        parts.append(f"{len(report.without_history)} without history "
                     f"({', '.join(report.without_history)})")
    return f"summary: {'; '.join(parts)}; exit {report.exit_code}"


def _vm_line(v: VmAnswer, width: int) -> str:
    now, new = v.current, v.proposed
    flag = "!" if new.at_risk else " "
    name = printable(v.name)[:width]
    return (f"  {flag} {name:<{width}}  {settings_text(v.current_settings):<24} -> "
            f"{settings_text(v.proposed_settings):<24}  p95 {_pct(now.p95_pressure):>4} -> "
            f"{_pct(new.p95_pressure):>4}  >100% {_share(now.above_100_share):>5} -> "
            f"{_share(new.above_100_share):>5}  mean {_mb(now.mean_assigned_mb):>6} -> "
            f"{_mb(new.mean_assigned_mb):>6}")


def text_report(report: WhatifReport, *, verbose: bool = False) -> str:
    """One block per host; VMs listed when they change or are at risk (all with -v)."""
    lines = [f"what-if: {report.policy} against the last {report.since} of history "
             "(current = settings as they were; proposed = as the policy would set them)"]
    for h in report.hosts:
        now, new = h.current, h.proposed
        lines.append("")
        lines.append(f"{h.host}: {now.verdict} -> {new.verdict}  ({h.ticks} samples "
                     f"{h.first_ts} .. {h.last_ts}; {len(h.gaps)} gaps)")
        lines += [f"  why: {r}" for r in new.reasons]
        if h.not_replayed:
            lines.append(f"  not replayed (counters shared by several VMs; startup and maximum "
                         f"still counted): {', '.join(printable(n) for n in h.not_replayed)}")
        lines.append(f"  {_trust_text(h)}")
        lines.append(
            f"  host: min available {format_mb(now.min_available_mb)} -> "
            f"{format_mb(new.min_available_mb)}; startups {format_mb(now.startup_mb)} -> "
            f"{format_mb(new.startup_mb)} of {format_mb(new.capacity_mb)}; overcommit "
            f"{_ratio(now.overcommit)} -> {_ratio(new.overcommit)}")
        shown = [v for v in h.vms if verbose or v.changes or v.proposed.at_risk]
        if shown:
            width = min(24, max(len(v.name) for v in shown))
            lines += [_vm_line(v, width) for v in shown]
        hidden = len(h.vms) - len(shown)
        if hidden:
            lines.append(f"  ({hidden} VMs unchanged and not at risk; -v lists them)")
    if report.without_history:
        lines.append("")
        lines += [f"{name}: no samples stored: run `hvdyn collect` first"
                  for name in report.without_history]
    lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# ---------------------------------------------------------------- JSON


def _settings_json(s: MemorySettings | None) -> dict[str, Any] | None:
    return None if s is None else s.as_dict()


def _figures_json(f: VmFigures, s: MemorySettings | None) -> dict[str, Any]:
    return {"settings": _settings_json(s), "p95_pressure": f.p95_pressure,
            "max_pressure": f.max_pressure, "above_100_share": f.above_100_share,
            "mean_assigned_mb": f.mean_assigned_mb, "at_risk": f.at_risk}


def _host_figures_json(f: HostFigures) -> dict[str, Any]:
    return {"verdict": f.verdict, "reasons": list(f.reasons),
            "min_available_mb": f.min_available_mb,
            "low_available_share": f.low_available_share, "startup_mb": f.startup_mb,
            "capacity_mb": f.capacity_mb, "overcommit": f.overcommit,
            "vms_at_risk": f.vms_at_risk, "contended_samples": f.contended_ticks}


def report_json(report: WhatifReport) -> str:
    hosts = []
    for h in report.hosts:
        t = h.trust
        hosts.append({
            "host": h.host,
            "window": {"first": h.first_ts, "last": h.last_ts, "samples": h.ticks,
                       "interval_s": h.interval_s,
                       "gaps": [{"after": g.after, "before": g.before, "seconds": g.seconds}
                                for g in h.gaps]},
            "total_mb": h.total_mb, "pool_measured": h.pool_measured,
            "not_replayed": list(h.not_replayed),
            "trust": {"fits": t.fits, "compared": t.cells,
                      "median_error_pct": t.median_error_pct, "p95_error_pct": t.p95_error_pct,
                      "median_error_mb": t.median_error_mb, "p95_error_mb": t.p95_error_mb,
                      "pressure_p95_error": t.pressure_p95_error},
            "current": _host_figures_json(h.current),
            "proposed": _host_figures_json(h.proposed),
            "vms": [{"vm_id": v.vm_id, "name": v.name, "changes": v.changes,
                     "rules": list(v.rules), "note": v.note,
                     "running_samples": v.running_ticks, "restarts": v.restarts,
                     "demand_known": v.demand_known,
                     "current": _figures_json(v.current, v.current_settings),
                     "proposed": _figures_json(v.proposed, v.proposed_settings)}
                    for v in h.vms],
        })
    verdicts = [h.proposed.verdict for h in report.hosts]
    doc = {
        "version": SCHEMA_VERSION, "policy": report.policy, "since": report.since,
        "summary": {"hosts": len(report.hosts), "fits": verdicts.count(FITS),
                    "at_risk": verdicts.count(AT_RISK),
                    "does_not_fit": verdicts.count(DOES_NOT_FIT),
                    "untrusted": sum(1 for h in report.hosts if not h.trust.fits),
                    "without_history": list(report.without_history),
                    "exit_code": report.exit_code},
        "hosts": hosts,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- HTML


def _line(name: str, ticks: Sequence[str], values: Sequence[float | None], color: str,
          dashed: bool) -> Series:
    points = [(parse_ts(t), float(v)) for t, v in zip(ticks, values, strict=True)
              if v is not None]
    return Series(name=name, points=points, color=color, dashed=dashed)


def host_charts(h: HostAnswer) -> list[Chart]:
    if h.series is None:
        return []
    s = h.series
    out = [Chart(
        title=f"{h.host}: balancer available memory (lowest per bucket)", unit="MB",
        series=[_line("current", s.ticks, list(s.available_current), _CURRENT_COLOR, True),
                _line("proposed", s.ticks, list(s.available_proposed), _PROPOSED_COLOR, False)],
        thresholds=[(float(AVAILABLE_MIN_MB), format_mb(AVAILABLE_MIN_MB))],
    )]
    names = {v.vm_id: v.name for v in h.vms}
    for vm_id, (now, new) in s.pressure.items():
        out.append(Chart(
            title=f"{h.host}/{names[vm_id]}: pressure (highest per bucket)", unit="%",
            series=[_line("current", s.ticks, list(now), _CURRENT_COLOR, True),
                    _line("proposed", s.ticks, list(new), _PROPOSED_COLOR, False)],
            thresholds=[(100.0, "100%")], plot_height=140, width=560,
        ))
    return out


def report_html(report: WhatifReport) -> str:
    overview = table(
        ["host", "current", "proposed", "why", "VMs at risk", "min available", "trust (p95 error)"],
        [[h.host, h.current.verdict, h.proposed.verdict, "; ".join(h.proposed.reasons) or "-",
          f"{h.current.vms_at_risk} -> {h.proposed.vms_at_risk}",
          f"{format_mb(h.current.min_available_mb)} -> {format_mb(h.proposed.min_available_mb)}",
          ("-" if h.trust.p95_error_pct is None else f"{h.trust.p95_error_pct:.1f}%")
          + ("" if h.trust.fits else " (does not fit)")]
         for h in report.hosts],
        [{"fits": "info", "at risk": "warning", "does not fit": "error"}[h.proposed.verdict]
         for h in report.hosts],
    )
    links = " ".join(f'<a href="#host-{i}">{escape(h.host)}</a>'
                     for i, h in enumerate(report.hosts))
    parts = [_GRID_CSS, f"<p>{escape(summary_line(report))}</p>", overview, f"<p>{links}</p>"]
    for i, h in enumerate(report.hosts):
        parts.append(f'<section id="host-{i}"><h2>{escape(h.host)}: {escape(h.current.verdict)}'
                     f" &rarr; {escape(h.proposed.verdict)}</h2>")
        parts.append(f"<p>{escape(_trust_text(h))}. {h.ticks} samples {escape(h.first_ts)} .. "
                     f"{escape(h.last_ts)}, {len(h.gaps)} gaps.</p>")
        drawn = host_charts(h)
        parts.append(charts_html(drawn[:1]))
        if len(drawn) > 1:
            parts.append("<p>Pressure of the VMs most at risk under the proposal (above 100%: "
                         "the VM wants more memory than it gets):</p>")
            parts.append(f'<div class="grid">{charts_html(drawn[1:])}</div>')
        parts.append(table(
            ["VM", "settings now", "proposed", "p95 pressure", "above 100%", "mean assigned",
             "note"],
            [[v.name, settings_text(v.current_settings), settings_text(v.proposed_settings),
              f"{_pct(v.current.p95_pressure)} -> {_pct(v.proposed.p95_pressure)}",
              f"{_share(v.current.above_100_share)} -> {_share(v.proposed.above_100_share)}",
              f"{_mb(v.current.mean_assigned_mb)} -> {_mb(v.proposed.mean_assigned_mb)}",
              v.note or "-"] for v in h.vms],
            ["warning" if v.proposed.at_risk else "" for v in h.vms],
        ))
        parts.append("</section>")
    return page(f"hvdyn whatif {report.policy} (last {report.since})", parts)
