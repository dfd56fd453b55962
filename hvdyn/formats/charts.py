"""Charts of stored history: pressure, assigned memory against settings over time, host memory.

Why top-N on host charts: 38 lines in 10 colours identify nothing; the few
VMs with the highest pressure (or memory) are drawn and named, and the
note says how many are left out. Every VM still gets its own small chart.
A VM's pressure is drawn only while Dynamic Memory is on: a static VM's
counters read 0, which is no measurement, not "no pressure".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hvdyn.analysis.audit import warn_threshold
from hvdyn.analysis.recommend import percentile
from hvdyn.formats.chart_data import ChangeEvent, SettingsInterval, by_vm
from hvdyn.formats.svg import Chart, Marker, Series
from hvdyn.history.rows import BalancerRow, SampleRow, parse_ts

PRESSURE_LINE = 85.0
AVAILABLE_LINE = 2048.0
TOP_N = 8
NAN = float("nan")
Span = tuple[datetime, datetime] | None


def _size(small: bool) -> dict[str, Any]:
    """Chart dimensions: full width, or a small multiple (the page has a shared legend)."""
    return {"width": 340, "plot_height": 80, "legend": False} if small else {}


def _dynamic_at(timeline: Sequence[SettingsInterval], when: datetime) -> bool | None:
    """Whether DM was on at `when` (None: no settings known then)."""
    known = None
    for span in timeline:
        if span.start <= when and (span.end is None or when < span.end):
            return span.dynamic
        if span.start <= when:
            known = span.dynamic  # the latest seen before `when`
    if known is None and timeline and when < timeline[0].start:
        return timeline[0].dynamic  # samples of the collect that first saw these settings
    return known


def pressure_points(rows: Sequence[SampleRow], timeline: Sequence[SettingsInterval],
                    column: str = "average_pressure") -> list[tuple[datetime, float]]:
    """(time, pressure) while DM was on; NaN (a gap) while the VM was static."""
    out: list[tuple[datetime, float]] = []
    for r in rows:
        value = getattr(r, column)
        if value is None:
            continue
        when = parse_ts(r.ts)
        out.append((when, NAN if _dynamic_at(timeline, when) is False else float(value)))
    return out


def is_static(timeline: Sequence[SettingsInterval]) -> bool:
    return bool(timeline) and not any(s.dynamic for s in timeline)


def markers(events: Sequence[ChangeEvent], vm_id: str | None = None) -> list[Marker]:
    """Markers for the events (of one VM when `vm_id` is given)."""
    return [Marker(at=e.at, label=e.label) for e in events
            if vm_id is None or vm_id.upper() in e.vm_ids]


def settings_series(timeline: Sequence[SettingsInterval], span: Span) -> list[Series]:
    """Startup and maximum as steps: each value held until the settings changed."""
    startup: list[tuple[datetime, float]] = []
    maximum: list[tuple[datetime, float]] = []
    ordered = sorted(timeline, key=lambda s: s.start)
    for interval in ordered:
        start = max(interval.start, span[0]) if span else interval.start
        startup.append((start, float(interval.startup_mb)))
        maximum.append((start, float(interval.maximum_mb) if interval.dynamic else NAN))
        if interval.end is not None and interval is ordered[-1]:
            startup.append((interval.end, NAN))
            maximum.append((interval.end, NAN))
    out = [Series(name="startup", points=startup, dashed=True, color="#2ca02c", step=True)]
    if any(not math.isnan(v) for _, v in maximum):
        out.append(Series(name="maximum", points=maximum, dashed=True, color="#d62728",
                          step=True))
    return out


def vm_memory(title: str, rows: Sequence[SampleRow], timeline: Sequence[SettingsInterval],
              events: Sequence[ChangeEvent], span: Span, small: bool = False) -> Chart:
    """Assigned memory of one VM against its startup and maximum as they were over time."""
    points = [(parse_ts(r.ts), float(r.physical_mb)) for r in rows if r.physical_mb is not None]
    series = [Series(name="assigned", points=points, color="#1f77b4")] if points else []
    series += settings_series(timeline, span) if points else []
    vm_id = rows[-1].vm_id if rows else None
    return Chart(title=title, unit="MB", series=series, span=span,
                 markers=markers(events, vm_id), **_size(small))


def vm_pressure(title: str, rows: Sequence[SampleRow], timeline: Sequence[SettingsInterval],
                events: Sequence[ChangeEvent], span: Span, small: bool = False) -> Chart:
    current = pressure_points(rows, timeline, "current_pressure")
    average = pressure_points(rows, timeline, "average_pressure")
    series = [s for s in (Series(name="current pressure", points=current, color="#ff7f0e"),
                          Series(name="average pressure", points=average, color="#1f77b4"))
              if any(not math.isnan(v) for _, v in s.points)]
    vm_id = rows[-1].vm_id if rows else None
    line = vm_pressure_line(timeline)
    return Chart(title=title, unit="%", series=series, span=span,
                 thresholds=[(line, f"{line:.0f}%")], markers=markers(events, vm_id),
                 **_size(small))


def vm_pressure_line(timeline: Sequence[SettingsInterval]) -> float:
    """The audit's warning threshold (HVD110) for the VM's buffer now: 85% at a 20%
    buffer, higher for a smaller one (it settles higher by design)."""
    current = timeline[-1] if timeline else None
    return warn_threshold(current.buffer if current is not None and current.dynamic else None)


def _rank(values: Sequence[float]) -> tuple[float, float]:
    """P95, then the mean (many VMs sit at the same balancer target: P95 ties)."""
    finite = [v for v in values if not math.isnan(v)]
    return (percentile(finite, 95), sum(finite) / len(finite)) if finite else (-1.0, -1.0)


def host_pressure(host: str, samples: Sequence[SampleRow],
                  timelines: dict[str, list[SettingsInterval]], events: Sequence[ChangeEvent],
                  span: Span, top: int = TOP_N) -> Chart:
    """Average pressure of the `top` dynamic VMs with the highest P95 pressure."""
    candidates = []
    for vm_id, rows in by_vm(samples).items():
        points = pressure_points(rows, timelines.get(vm_id, []))
        if any(not math.isnan(v) for _, v in points):
            candidates.append((_rank([v for _, v in points]), rows[-1].vm_name, points))
    candidates.sort(key=lambda c: (-c[0][0], -c[0][1], c[1].lower()))
    chosen = candidates[:top]
    note = ""
    if len(candidates) > len(chosen):
        rest = candidates[len(chosen)][0][0]
        note = (f"the {len(chosen)} of {len(candidates)} VMs with Dynamic Memory with the "
                f"highest P95 pressure; the others' P95 is at most {rest:.0f}%")
    series = [Series(name=f"{name} (P95 {rank[0]:.0f}%)", points=points)
              for rank, name, points in chosen]
    return Chart(title=f"{host}: average pressure per VM", unit="%", series=series, span=span,
                 thresholds=[(PRESSURE_LINE, "85%")], markers=markers(events), note=note)


def host_assigned(host: str, samples: Sequence[SampleRow], events: Sequence[ChangeEvent],
                  span: Span, top: int = TOP_N) -> Chart:
    """Assigned memory of the `top` VMs that held the most."""
    candidates = []
    for rows in by_vm(samples).values():
        points = [(parse_ts(r.ts), float(r.physical_mb)) for r in rows
                  if r.physical_mb is not None]
        if points:
            candidates.append((max(v for _, v in points), rows[-1].vm_name, points))
    candidates.sort(key=lambda c: (-c[0], c[1].lower()))
    chosen = candidates[:top]
    note = (f"the {len(chosen)} of {len(candidates)} VMs that held the most memory"
            if len(candidates) > len(chosen) else "")
    return Chart(title=f"{host}: assigned memory per VM", unit="MB", span=span, note=note,
                 series=[Series(name=name, points=points) for _, name, points in chosen],
                 markers=markers(events))


def host_available(host: str, rows: Sequence[BalancerRow], events: Sequence[ChangeEvent],
                   span: Span, small: bool = False) -> Chart:
    points = [(parse_ts(r.ts), float(r.available_mb)) for r in rows if r.available_mb is not None]
    return Chart(title=f"{host}: balancer available memory", unit="MB", span=span,
                 series=[Series(name="available memory", points=points)] if points else [],
                 thresholds=[(AVAILABLE_LINE, "2 GB")], markers=markers(events), **_size(small))


def worst_pressure(samples: Sequence[SampleRow], timelines: dict[str, list[SettingsInterval]]
                   ) -> list[tuple[datetime, float]]:
    """Per sample time, the highest average pressure of any VM with Dynamic Memory on."""
    worst: dict[datetime, float] = {}
    for vm_id, rows in by_vm(samples).items():
        for when, value in pressure_points(rows, timelines.get(vm_id, [])):
            if not math.isnan(value):
                worst[when] = max(value, worst.get(when, 0.0))
    return sorted(worst.items())


def host_sparkline(host: str, samples: Sequence[SampleRow],
                   timelines: dict[str, list[SettingsInterval]], span: Span) -> Chart:
    """A small chart for the overview: the worst VM's pressure at each sample time."""
    points = worst_pressure(samples, timelines)
    return Chart(title=f"{host}: highest VM pressure", unit="%", span=span, legend=False,
                 series=[Series(name="highest average pressure", points=points)],
                 thresholds=[(PRESSURE_LINE, "85%")], width=340, plot_height=70)
