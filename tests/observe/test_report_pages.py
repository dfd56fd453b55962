"""Report charts: settings as they were over time, applies marked, static VMs not at 0 %."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hvdyn.formats.chart_data import change_events, settings_timeline
from hvdyn.formats.report_page import anchor
from hvdyn.formats.svg import Chart, Marker, Series, axis_caption, render, time_ticks
from hvdyn.history import open_store
from hvdyn.history.rows import format_ts
from tests.runner import Hvdyn

from .conftest import INVENTORY

NS = "{http://www.w3.org/2000/svg}"
BUSY = "0A000001-0000-4000-8000-000000000002"
OK = "0A000001-0000-4000-8000-000000000001"
# busy: maximum 2GB -> 4GB; ok: dynamic -> static 1GB (its pressure then reads 0)
RESIZE = """version: 1
rules:
  - name: busy-bigger
    match: {vm: busy}
    set: {maximum: 4GB}
  - name: ok-static
    match: {vm: ok}
    set: {dynamic: false, startup: 1GB}
"""


@pytest.fixture
def resized(hvdyn: Hvdyn, tmp_path: Path) -> Hvdyn:
    """24 samples, an apply that changes busy and ok (run 2), 24 more samples (run 3)."""
    policy = tmp_path / "resize.yaml"
    policy.write_text(RESIZE)
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "24", "--interval", "300").exit_code == 0
    applied = hvdyn("apply", policy, "-i", INVENTORY, "--limit", "hv-obs-01", "--allow-restart")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "24", "--interval", "300").exit_code == 0
    return hvdyn


def _charts(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {svg.findtext(f"{NS}title") or "": svg for svg in root.iter(f"{NS}svg")
            if svg is not root}


def _polylines(chart: ET.Element, name: str) -> list[list[tuple[float, float]]]:
    group = next(g for g in chart.iter(f"{NS}g") if g.get("data-name") == name)
    return [[tuple(map(float, p.split(","))) for p in line.get("points", "").split()]  # type: ignore[misc]
            for line in group.iter(f"{NS}polyline")]


def test_settings_timeline_has_the_change(resized: Hvdyn, state: Path) -> None:
    with open_store(state) as store:
        busy = [s for s in settings_timeline(store, "hv-obs-01", None, None) if s.vm_id == BUSY]
        events = change_events(store, "hv-obs-01", store.samples(host="hv-obs-01"))
        newest = store.newest_ts("hv-obs-01")
    assert [(s.maximum_mb, s.dynamic) for s in busy] == [(2048, True), (4096, True)]
    assert busy[0].end == busy[1].start and busy[1].end is None
    assert [(e.command, e.run_id) for e in events] == [("apply", 2)]
    assert BUSY in events[0].vm_ids
    # placed on the host's clock between the two collects, not at this machine's date
    assert busy[0].start < events[0].at <= busy[1].start
    assert newest is not None and events[0].at.year == datetime.fromisoformat(
        newest.replace("Z", "+00:00")).year


def test_settings_timeline_reads_only_the_window(resized: Hvdyn, state: Path) -> None:
    with open_store(state) as store:
        first = [s for s in settings_timeline(store, "hv-obs-01", None, None) if s.vm_id == BUSY]
        later = format_ts(first[1].start + timedelta(minutes=30))
        after = [s for s in settings_timeline(store, "hv-obs-01", later, None)
                 if s.vm_id == BUSY]
        early = format_ts(first[0].start + timedelta(minutes=30))
        before = [s for s in settings_timeline(store, "hv-obs-01", None, early)
                  if s.vm_id == BUSY]
        # an apply outside the window's collects is not an event of the window
        assert change_events(store, "hv-obs-01", store.samples(host="hv-obs-01",
                                                               since=later)) == []
    # the settings in force when the window opens, then nothing older
    assert [(s.maximum_mb, s.start) for s in after] == [(4096, first[1].start)]
    assert [s.maximum_mb for s in before] == [2048]


def test_memory_chart_steps_at_the_apply(resized: Hvdyn, tmp_path: Path) -> None:
    out = tmp_path / "r.svg"
    assert resized("report", "--limit", "hv-obs-01", "--vm", "busy", "-o", out).exit_code == 0
    memory = _charts(out)["hv-obs-01/busy: assigned memory"]
    (maximum,) = _polylines(memory, "maximum")
    levels = sorted({y for _, y in maximum})
    assert len(levels) == 2  # 2GB, then 4GB: one step, not one flat line
    steps = [a for a, b in itertools.pairwise(maximum) if a[0] == b[0]]
    marker = next(g for g in memory.iter(f"{NS}g") if g.get("class") == "marker")
    assert marker.get("data-label") == "apply 2"
    line = marker.find(f"{NS}line")
    assert line is not None
    assert len(steps) == 1 and steps[0][0] >= float(line.get("x1", "0"))


def test_static_stretch_is_a_gap_not_zero(resized: Hvdyn, tmp_path: Path) -> None:
    out = tmp_path / "r.svg"
    assert resized("report", "--limit", "hv-obs-01", "--vm", "ok", "-o", out).exit_code == 0
    charts = _charts(out)
    host = charts["hv-obs-01: average pressure per VM"]
    ok = next(g for g in host.iter(f"{NS}g") if (g.get("data-name") or "").startswith("ok "))
    bottom = max(float(t.get("y1", "0")) for t in host.iter(f"{NS}line"))
    points = [p for line in ok.iter(f"{NS}polyline") for p in line.get("points", "").split()]
    assert len(points) == 24  # the 24 samples while DM was on; none after it went static
    assert all(float(p.split(",")[1]) < bottom - 1 for p in points)  # no 0 % line


def test_page_has_overview_and_working_anchors(resized: Hvdyn, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert resized("report", "-o", out).exit_code == 0
    ids: set[str] = set()
    links: list[str] = []

    class P(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if values.get("id"):
                ids.add(values["id"] or "")
            if tag == "a" and values.get("href"):
                links.append(values["href"] or "")

    text = out.read_text()
    P().feed(text)
    assert text.index("<h2>Overview</h2>") < text.index('<section id="hv-obs-01">')
    assert {"#hv-obs-01", "#hv-obs-02", "#top"} <= set(links)
    assert all(link.startswith("#") and link[1:] in ids for link in links)
    assert "apply 2" in text and "static 1GB since" in text


def test_time_axis_is_dated_and_labels_stay_inside() -> None:
    t0 = datetime(2025, 12, 30, 22, 7, tzinfo=UTC)
    t1 = t0 + timedelta(days=2, hours=3)
    assert axis_caption(t0, t1) == "UTC, 2025-12-30 22:07 .. 2026-01-02 01:07"
    ticks = time_ticks(t0, t1, 8)
    assert all(t0 <= t <= t1 and t.minute == 0 for t in ticks) and 2 <= len(ticks) <= 8
    points = [(t0 + timedelta(minutes=5 * i), 50 + 40 * math.sin(i / 9)) for i in range(613)]
    svg = ET.fromstring(render(Chart(title="t", unit="%", series=[Series(name="a",
                                                                        points=points)])))
    width = float(svg.get("width", "0"))
    for text in svg.iter(f"{NS}text"):
        x, label, anchor = float(text.get("x", "0")), text.text or "", text.get("text-anchor")
        half = 3.3 * len(label)
        left = {"end": x - 2 * half, "middle": x - half}.get(anchor or "", x)
        assert left >= 0 and left + 2 * half <= width, label


@given(names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4),
       values=st.lists(st.floats(min_value=0, max_value=1e6) | st.just(math.nan), min_size=1,
                       max_size=30))
def test_any_names_and_values_give_well_formed_svg(names: list[str], values: list[float]) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    clean = ["".join(c for c in n if c.isprintable()) or "x" for n in names]
    series = [Series(name=n, points=[(t0 + timedelta(minutes=5 * i), v)
                                     for i, v in enumerate(values)], step=i % 2 == 1)
              for i, n in enumerate(clean)]
    chart = Chart(title=clean[0], unit="MB", series=series, note=clean[-1],
                  markers=[Marker(at=t0, label=clean[0])], thresholds=[(85.0, "85%")])
    root = ET.fromstring(render(chart))  # escaped: parses whatever the names hold
    assert root.findtext(f"{NS}title") == clean[0]
    drawn = {g.get("data-name") for g in root.iter(f"{NS}g") if g.get("class") == "series"}
    if all(math.isnan(v) for v in values):
        assert drawn == set() and "no samples in the window" in render(chart)
    else:
        assert drawn == set(clean)


def test_anchors_stay_apart_for_names_that_differ_only_in_punctuation() -> None:
    assert anchor("hv-obs-01") == "hv-obs-01"
    assert len({anchor("hv.01"), anchor("hv-01"), anchor("hv_01")}) == 3
