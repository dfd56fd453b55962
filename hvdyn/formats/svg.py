"""Line charts as standalone SVG text, without a plotting dependency.

Why generated SVG: the charts are simple time series, the output must be one
self-contained file (HTML with inline SVG) that opens anywhere, and an admin
workstation should not need matplotlib and its native wheels to run an
audit. Every text node is XML-escaped.

Readability rules the renderer keeps: the time axis says its timezone (UTC)
and the dates it spans, year included; tick labels sit on round hours or
days and never run past the chart's edge; settings are drawn as steps (a
value holds until it changes); a gap in a series (NaN) is a gap in the line,
never a drop to zero; applies and rollbacks are vertical markers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hvdyn.formats.xmltext import escape, quoteattr

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
SVG_NS = "http://www.w3.org/2000/svg"
MARKER_COLOR = "#6a3d9a"
CHAR_W = 6.5  # about the widest average character of 11px sans-serif text
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Tick steps the time axis may use, smallest first.
_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [
    timedelta(days=d) for d in (1, 2, 7, 14, 28)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float]]  # a NaN value breaks the line
    dashed: bool = False
    color: str | None = None
    step: bool = False  # a setting: holds its value until the next point


@dataclass(frozen=True, slots=True, kw_only=True)
class Marker:
    at: datetime
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    title: str
    unit: str
    series: Sequence[Series]
    thresholds: Sequence[tuple[float, str]] = field(default_factory=tuple)
    markers: Sequence[Marker] = field(default_factory=tuple)
    span: tuple[datetime, datetime] | None = None  # the time axis; default: the data's
    y_max: float | None = None  # a floor for the axis maximum (same scale across charts)
    width: int = 760
    plot_height: int = 220
    legend: bool = True
    note: str = ""  # said under the title (e.g. "8 of 38 VMs: the highest pressure")


def nice_max(value: float) -> float:
    """Round an axis maximum up to 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def time_ticks(t0: datetime, t1: datetime, most: int) -> list[datetime]:
    """Round times (whole hours, midnights) inside [t0, t1], at most `most` of them."""
    span = max((t1 - t0).total_seconds(), 1.0)
    step = next((s for s in _STEPS if span / s.total_seconds() <= most), _STEPS[-1])
    start = t0.astimezone(UTC)
    if step >= timedelta(days=1):
        tick = start.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        hours = int(step.total_seconds() // 3600)
        tick = start.replace(minute=0, second=0, microsecond=0)
        tick -= timedelta(hours=tick.hour % hours)
    ticks = []
    while tick <= t1:
        if tick >= t0:
            ticks.append(tick)
        tick += step
    return ticks


def _tick_label(tick: datetime, previous: datetime | None) -> str:
    if tick.hour == 0 and tick.minute == 0:
        return tick.strftime("%b %d")
    if previous is None or previous.date() != tick.date():
        return tick.strftime("%b %d %H:%M")
    return tick.strftime("%H:%M")


def axis_caption(t0: datetime, t1: datetime) -> str:
    """'UTC, 2026-01-01 00:00 .. 2026-01-03 23:00': the zone and the full dates shown."""
    return f"UTC, {t0.astimezone(UTC):%Y-%m-%d %H:%M} .. {t1.astimezone(UTC):%Y-%m-%d %H:%M}"


def _segments(points: Sequence[tuple[datetime, float]], step: bool, end: datetime
              ) -> Iterator[list[tuple[datetime, float]]]:
    """Runs of finite points. A step series holds each value until the next point: up to
    the gap (NaN) that ends it, or to `end` (the axis end) for the last run."""
    run: list[tuple[datetime, float]] = []
    for t, v in sorted(points, key=lambda p: p[0]):
        if math.isnan(v):
            if run:
                yield [*run, (t, run[-1][1])] if step and t > run[-1][0] else run
            run = []
            continue
        if step and run and run[-1][1] != v:
            run.append((t, run[-1][1]))
        run.append((t, v))
    if run:
        yield [*run, (end, run[-1][1])] if step and end > run[-1][0] else run


def _place_markers(markers: Sequence[Marker], x: Callable[[datetime], float], right: float
                   ) -> list[tuple[Marker, float, float, str, int]]:
    """(marker, line x, label x, anchor, row) with labels beside their line, never
    past the plot's right edge, and on a lower row where they would overlap."""
    row_ends: list[float] = []
    placed = []
    for marker in sorted(markers, key=lambda m: m.at):
        mx = x(marker.at)
        width = CHAR_W * len(marker.label)
        if mx + 3 + width <= right:
            anchor, label_x, start, end = "start", mx + 3, mx + 3, mx + 3 + width
        else:
            anchor, label_x, start, end = "end", mx - 3, mx - 3 - width, mx - 3
        row = next((i for i, used in enumerate(row_ends) if start > used + 4), len(row_ends))
        if row == len(row_ends):
            row_ends.append(end)
        else:
            row_ends[row] = end
        placed.append((marker, mx, label_x, anchor, row))
    return placed


def render(chart: Chart) -> str:
    """One `<svg>` element for a chart: axes, grid, thresholds, markers, lines, legend."""
    left, right = 56, 16
    width = chart.width
    plot_w = width - left - right
    band = 30 + (14 if chart.note else 0)  # below the title (and note)
    points = [p for s in chart.series for p in s.points if not math.isnan(p[1])]
    t0, t1 = chart.span or (min((p[0] for p in points), default=_EPOCH),
                            max((p[0] for p in points), default=_EPOCH))
    span = max((t1 - t0).total_seconds(), 1.0)

    def x(t: datetime) -> float:
        return left + (t - t0).total_seconds() / span * plot_w

    placed = _place_markers([m for m in chart.markers if t0 <= m.at <= t1] if points else [],
                            x, left + plot_w)
    rows = max((row + 1 for *_, row in placed), default=0)
    top = band + 13 * rows  # the marker labels get rows of their own above the plot
    per_row = max(1, plot_w // 180)
    shown = chart.series if chart.legend else []
    legend_rows = math.ceil(len(shown) / per_row) if shown else 0
    height = top + chart.plot_height + 36 + 16 * legend_rows
    out = [
        f'<svg xmlns="{SVG_NS}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" '
        f'role="img" aria-label={quoteattr(chart.title)}>',
        f"<title>{escape(chart.title)}</title>",
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(chart.title)}</text>',
    ]
    if chart.note:
        out.append(f'<text x="{left}" y="33" fill="#555">{escape(chart.note)}</text>')
    if not points:
        out.append(f'<text x="{left}" y="{top + 40}">no samples in the window</text></svg>')
        return "\n".join(out)
    top_value = max([p[1] for p in points] + [t for t, _ in chart.thresholds]
                    + [chart.y_max or 0.0])
    ymax = nice_max(top_value * 1.05)

    def y(v: float) -> float:
        return top + chart.plot_height - v / ymax * chart.plot_height

    bottom = top + chart.plot_height
    for i in range(6 if chart.plot_height >= 120 else 3):  # horizontal grid and y labels
        v = ymax * i / (5 if chart.plot_height >= 120 else 2)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">'
                   f"{escape(_fmt(v))}</text>")
    previous: datetime | None = None
    for tick in time_ticks(t0, t1, max(2, plot_w // 90)):
        xpos = x(tick)
        label = _tick_label(tick, previous)
        previous = tick
        half = 3.2 * len(label)  # about half the label's width at 11px
        anchor = "middle"
        if xpos - half < left - 4:  # clear of the y axis' labels
            anchor = "start"
        elif xpos + half > width - 2:
            anchor = "end"
        out.append(f'<line x1="{xpos:.1f}" x2="{xpos:.1f}" y1="{top}" y2="{bottom}" '
                   'stroke="#eee"/>')
        out.append(f'<text x="{xpos:.1f}" y="{bottom + 14}" text-anchor="{anchor}">'
                   f"{escape(label)}</text>")
    out.append(f'<text x="{left + plot_w}" y="{bottom + 27}" text-anchor="end" fill="#555">'
               f"{escape(axis_caption(t0, t1))}</text>")
    out.append(f'<text x="12" y="{top + chart.plot_height / 2:.0f}" '
               f'transform="rotate(-90 12 {top + chart.plot_height / 2:.0f})" '
               f'text-anchor="middle">{escape(chart.unit)}</text>')
    labels: list[str] = []  # threshold labels: drawn over the lines, on a white halo
    for value, label in chart.thresholds:
        out.append(f'<line class="threshold" x1="{left}" x2="{left + plot_w}" '
                   f'y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#d62728" '
                   'stroke-dasharray="6 3"/>')
        labels.append(f'<text x="{left + plot_w - 4}" y="{y(value) - 4:.1f}" '
                      'text-anchor="end" fill="#d62728" stroke="#fff" stroke-width="3" '
                      f'paint-order="stroke">{escape(label)}</text>')
    for marker, mx, label_x, anchor, row in placed:
        out.append(f'<g class="marker" data-label={quoteattr(marker.label)}>'
                   f"<title>{escape(marker.label)} at {marker.at:%Y-%m-%d %H:%M} UTC</title>"
                   f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{band + 13 * row + 2}" y2="{bottom}" '
                   f'stroke="{MARKER_COLOR}" stroke-width="1.5" stroke-dasharray="2 2"/>'
                   f'<text x="{label_x:.1f}" y="{band + 13 * row + 10}" text-anchor="{anchor}" '
                   f'fill="{MARKER_COLOR}">{escape(marker.label)}</text></g>')
    for index, s in enumerate(chart.series):
        color = s.color or PALETTE[index % len(PALETTE)]
        dash = ' stroke-dasharray="4 3"' if s.dashed else ""
        lines = []
        for run in _segments(s.points, s.step, t1):
            coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in run)
            lines.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5"{dash} '
                         f'points="{coords}"/>')
        out.append(f'<g class="series" data-name={quoteattr(s.name)}>'
                   f"<title>{escape(s.name)}</title>{''.join(lines)}</g>")
    out += labels
    legend_y = bottom + 44
    for index, s in enumerate(shown):
        color = s.color or PALETTE[index % len(PALETTE)]
        lx = left + (index % per_row) * (plot_w / per_row)
        ly = legend_y + (index // per_row) * 16
        name = s.name if len(s.name) <= 28 else s.name[:27] + "\u2026"
        out.append(f'<rect x="{lx:.1f}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{lx + 14:.1f}" y="{ly + 1}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def document(charts: Sequence[Chart], title: str) -> str:
    """Several charts stacked in one standalone SVG file."""
    rendered = [render(c) for c in charts]
    heights = [int(r.split('height="', 1)[1].split('"', 1)[0]) for r in rendered]
    width = max((c.width for c in charts), default=760)
    total = sum(heights) + 30
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="{SVG_NS}" width="{width}" height="{total}" '
           f'viewBox="0 0 {width} {total}" font-family="sans-serif">',
           f"<title>{escape(title)}</title>",
           f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    offset = 30
    for svg, h in zip(rendered, heights, strict=True):
        out.append(f'<g transform="translate(0 {offset})">{svg}</g>')
        offset += h
    out.append("</svg>")
    return "\n".join(out) + "\n"
