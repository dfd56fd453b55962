"""Rollups: each bucket equals its raw samples' aggregates; merging is exact where it can be."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hvdyn.history import open_store
from hvdyn.history.rollups import DAY, HOUR, _stagger, merge_stats, stats_of
from hvdyn.history.rows import RollupRow, epoch

from .conftest import T0, fill

raw_samples = st.lists(st.tuples(st.just(0), st.integers(0, 300), st.integers(0, 300),
                                 st.integers(0, 65536)), min_size=1, max_size=60)


@given(raw_samples, st.integers(1, 59))
@settings(max_examples=150, deadline=None)
def test_merge_is_exact_for_counts_extremes_and_means(samples: list, cut: int) -> None:
    cut = min(cut, len(samples))
    parts = [s for s in (samples[:cut], samples[cut:]) if s]
    rows = [RollupRow(host="h", vm_id="v", vm_name="v", res=HOUR, bucket="x",
                      **stats_of(p)) for p in parts]  # type: ignore[arg-type]
    whole = stats_of(samples)
    merged = merge_stats(rows)
    for key in ("n", "ap_min", "ap_max", "cp_max", "mb_min", "mb_max", "dm_n", "dm_max"):
        assert merged[key] == whole[key], key
    # means of rounded means: within one unit
    for key in ("ap_mean", "cp_mean", "mb_mean"):
        assert abs((merged[key] or 0) - (whole[key] or 0)) <= 1, key
    if len(rows) == 1:
        assert merged == whole


def test_hourly_and_daily_rows_match_their_raw_samples(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store, "h1", vms=2, steps=288 * 2 + 30)  # two days and 2.5 hours
        raw = store.samples(host="h1", include_ambiguous=False)
        hours = store.rollups("h1", HOUR)
        days = store.rollups("h1", DAY)
        marks = store._marks("h1")
    assert marks[HOUR] == epoch("2026-03-04T02:00:00Z")
    # the day closes at midnight; each host rolls it up 0..23 hours later (spread)
    assert marks[DAY] == (marks[HOUR] - _stagger("h1")) // DAY * DAY
    by_hour: dict[tuple[str, int], list] = defaultdict(list)
    for s in raw:
        by_hour[(s.vm_id or "", epoch(s.ts) // HOUR * HOUR)].append(
            (epoch(s.ts), s.average_pressure, s.current_pressure, s.physical_mb))
    assert len(hours) == len(by_hour) == 2 * (48 + 3)
    for row in hours:
        expected = stats_of(by_hour[(row.vm_id or "", epoch(row.bucket))])
        assert {k: getattr(row, k) for k in expected} == expected, row.bucket
    # days: two closed from hourly rows, plus today's open tail
    assert [r.bucket[:10] for r in days if r.vm_name == "vm0"] == [
        "2026-03-02", "2026-03-03", "2026-03-04"]
    for row in days:
        day = [s for s in raw if s.vm_id == row.vm_id
               and epoch(s.ts) // DAY * DAY == epoch(row.bucket)]
        pressures = [s.average_pressure for s in day]
        assert row.n == len(day)
        assert (row.ap_min, row.ap_max) == (min(pressures), max(pressures))
        # a day's mean is the weighted mean of hourly means kept as whole percent: +-1
        assert abs(row.ap_mean - statistics.fmean(pressures)) <= 1  # type: ignore[operator]


def test_collect_rolls_up_only_what_closed(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store, "h1", vms=1, steps=11)  # 00:00..00:50: no hour closed yet
        assert store.scalar("SELECT count(*) FROM rollups") == 0
        assert len(store.rollups("h1", HOUR)) == 1  # the open hour, computed on the fly
        fill(store, "h1", vms=1, steps=2, start=T0 + timedelta(minutes=55))
        assert store.scalar("SELECT count(*) FROM rollups WHERE res = 3600") == 1
        stored = store.scalar("SELECT n FROM rollups")
        assert stored == 12  # 00:00..00:55


def test_settings_history_is_one_row_per_change(tmp_path: Path) -> None:
    from hvdyn.history.rows import VmSettingsRow, format_ts

    def row(minute: int, maximum: int) -> VmSettingsRow:
        return VmSettingsRow(host="h", vm_id="V1", vm_name="a",
                             ts=format_ts(T0 + timedelta(minutes=minute)), state=2,
                             dynamic=True, startup_mb=1024, minimum_mb=512, maximum_mb=maximum,
                             buffer=20, weight=5000)

    with open_store(tmp_path) as store:
        written = [store.add_collection(samples=[], balancer=[], host_memory=[],
                                        vm_settings=[row(m, mx)])
                   for m, mx in ((0, 2048), (5, 2048), (10, 4096), (15, 4096), (20, 2048))]
        assert written == [1, 0, 1, 0, 1]  # unchanged VMs cost nothing
        history = store.settings_history("h")
        assert [(h.start[11:16], h.end and h.end[11:16], h.maximum_mb) for h in history] == [
            ("00:00", "00:10", 2048), ("00:10", "00:20", 4096), ("00:20", None, 2048)]
        window = store.settings_history("h", since=format_ts(T0 + timedelta(minutes=12)),
                                        until=format_ts(T0 + timedelta(minutes=19)))
        assert [h.maximum_mb for h in window] == [4096]
        assert [s.maximum_mb for s in store.latest_vm_settings(host="h")] == [2048]


def test_ambiguous_instances_sharing_a_name_and_time_are_all_kept(tmp_path: Path) -> None:
    from hvdyn.history.rows import SampleRow

    rows = [SampleRow(host="h", vm_id=None, vm_name="dup", ts="2026-03-02T00:00:00Z",
                      physical_mb=mb, ambiguous=True, extra='{"_ids": ["A", "B"]}')
            for mb in (512, 1024)]
    with open_store(tmp_path) as store:
        store.add_collection(samples=rows, balancer=[], host_memory=[])
        store.add_collection(samples=rows[:1], balancer=[], host_memory=[])
        got = store.samples(host="h")
    assert sorted(s.physical_mb or 0 for s in got) == [512, 512, 1024]
    assert all(s.ambiguous and s.vm_id is None for s in got)
    assert got[0].extra == '{"_ids": ["A", "B"]}'
