"""Line charts as standalone SVG text, without a plotting dependency.

Why generated SVG: the charts are simple time series, the output must be one
self-contained file (HTML with inline SVG) that opens anywhere, and an admin
workstation should not need matplotlib and its native wheels to run an
audit. Every text node is XML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hvdyn.formats.xmltext import escape, quoteattr

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    name: str
    points: Sequence[tuple[datetime, float]]
    dashed: bool = False
    color: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    title: str
    unit: str
    series: Sequence[Series]
    thresholds: Sequence[tuple[float, str]] = field(default_factory=tuple)
    width: int = 760
    plot_height: int = 220


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


def render(chart: Chart) -> str:
    """One `<svg>` element for a chart: axes, grid, thresholds, lines, legend."""
    left, right, top = 60, 20, 30
    width = chart.width
    plot_w = width - left - right
    legend_rows = math.ceil(len(chart.series) / 4) if chart.series else 0
    height = top + chart.plot_height + 40 + 16 * legend_rows
    points = [p for s in chart.series for p in s.points]
    out = [
        f'<svg xmlns="{SVG_NS}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" '
        f'role="img" aria-label={quoteattr(chart.title)}>',
        f"<title>{escape(chart.title)}</title>",
        f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(chart.title)}</text>',
    ]
    if not points:
        out.append(f'<text x="{left}" y="{top + 40}">no samples in the window</text></svg>')
        return "\n".join(out)
    t0 = min(p[0] for p in points).timestamp()
    t1 = max(p[0] for p in points).timestamp()
    span = max(t1 - t0, 1.0)
    ymax = nice_max(max([p[1] for p in points] + [t for t, _ in chart.thresholds]) * 1.05)

    def x(t: datetime) -> float:
        return left + (t.timestamp() - t0) / span * plot_w

    def y(v: float) -> float:
        return top + chart.plot_height - v / ymax * chart.plot_height

    for i in range(6):  # horizontal grid and y labels
        v = ymax * i / 5
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">'
                   f"{escape(_fmt(v))}</text>")
    for i in range(5):  # time labels
        t = t0 + span * i / 4
        stamp = datetime.fromtimestamp(t, tz=min(p[0] for p in points).tzinfo)
        xpos = left + plot_w * i / 4
        out.append(f'<text x="{xpos:.1f}" y="{top + chart.plot_height + 16}" '
                   f'text-anchor="middle">{escape(stamp.strftime("%m-%d %H:%M"))}</text>')
    out.append(f'<text x="14" y="{top + chart.plot_height / 2:.0f}" '
               f'transform="rotate(-90 14 {top + chart.plot_height / 2:.0f})" '
               f'text-anchor="middle">{escape(chart.unit)}</text>')
    for value, label in chart.thresholds:
        out.append(f'<line class="threshold" x1="{left}" x2="{left + plot_w}" '
                   f'y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#d62728" '
                   'stroke-dasharray="6 3"/>')
        out.append(f'<text x="{left + plot_w - 4}" y="{y(value) - 4:.1f}" text-anchor="end" '
                   f'fill="#d62728">{escape(label)}</text>')
    for index, s in enumerate(chart.series):
        color = s.color or PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in sorted(s.points))
        dash = ' stroke-dasharray="4 3"' if s.dashed else ""
        out.append(f'<g class="series" data-name={quoteattr(s.name)}>'
                   f"<title>{escape(s.name)}</title>"
                   f'<polyline fill="none" stroke="{color}" stroke-width="1.5"{dash} '
                   f'points="{coords}"/></g>')
    legend_y = top + chart.plot_height + 34
    for index, s in enumerate(chart.series):
        color = s.color or PALETTE[index % len(PALETTE)]
        lx = left + (index % 4) * (plot_w / 4)
        ly = legend_y + (index // 4) * 16
        out.append(f'<rect x="{lx:.1f}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{lx + 14:.1f}" y="{ly + 1}">{escape(s.name[:40])}</text>')
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
