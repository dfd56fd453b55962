"""The report's pressure line and its red "hot" mark use the audit's buffer-aware
threshold: a 10%-buffer VM settles near 91% by design, and the audit (HVD110) does not
warn there. A line at 85% and a red P95 91% beside "health findings: none" told the
operator two different things."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hvdyn.analysis.audit import warn_threshold
from hvdyn.formats import charts
from hvdyn.formats.chart_data import HostHistory, SettingsInterval, by_vm
from hvdyn.formats.report_page import overview
from hvdyn.history.rows import SampleRow, format_ts

VM_ID = "0A000001-0000-4000-8000-000000000001"
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _history(buffer: int, pressure: int) -> HostHistory:
    rows = [SampleRow(host="h", vm_id=VM_ID, vm_name="desk", ts=format_ts(T0 + timedelta(
        minutes=15 * k)), physical_mb=1024, average_pressure=pressure,
        current_pressure=pressure) for k in range(20)]
    timeline = [SettingsInterval(vm_id=VM_ID, vm_name="desk", start=T0, end=None, dynamic=True,
                                 startup_mb=512, maximum_mb=2048, buffer=buffer)]
    span = (T0, T0 + timedelta(minutes=15 * 19))
    return HostHistory(host="h", start=rows[0].ts, newest=rows[-1].ts, samples=rows,
                       balancer=[], timelines={VM_ID: timeline}, events=[],
                       vm_rows=by_vm(rows), span=span)


def test_vm_pressure_line_is_the_audits_threshold_for_its_buffer() -> None:
    for buffer, label in ((10, "92%"), (20, "85%"), (5, "97%")):
        h = _history(buffer, 80)
        chart = charts.vm_pressure("p", h.vm_rows[VM_ID], h.timelines[VM_ID], [], h.span)
        assert [t for t, _ in chart.thresholds] == [warn_threshold(buffer)], buffer
        assert [text for _, text in chart.thresholds] == [label]


def test_overview_marks_hot_only_above_the_vms_threshold() -> None:
    assert 'class="hot"' not in overview([_history(10, 91)], {})
    assert 'class="hot"' in overview([_history(10, 95)], {})
    assert 'class="hot"' in overview([_history(20, 91)], {})
