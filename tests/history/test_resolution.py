"""Commands read raw samples or rollups by window; rollup results match raw within tolerance.

Tolerance (also in docs/history.md): demand percentiles P5/P50/P95/P99 within 2 %
(max exact), advised startup and maximum equal or one
rounding step apart, buffer within 5 points, the same verdict; mean pressure
within 1 point; the same sustained-pressure findings for clear cases.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hvdyn.analysis.audit import pressure_findings, rollup_health, vm_health
from hvdyn.analysis.recommend import advise, advise_rollups, step_for
from hvdyn.history import Store, open_store, window_start
from hvdyn.history.resolution import RAW, resolution_for
from hvdyn.history.rollups import DAY, HOUR
from tests.runner import run_cli

from .conftest import fill

DAYS = 14


@pytest.fixture(scope="module")
def fortnight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("fortnight")
    with open_store(state) as store:
        fill(store, "h1", vms=4, steps=288 * DAYS, batch_steps=288)
    return state


def test_resolution_follows_the_history_a_window_holds(fortnight: Path, tmp_path: Path
                                                       ) -> None:
    with open_store(fortnight) as store:
        assert resolution_for(store, "h1", timedelta(hours=24)) == RAW
        assert resolution_for(store, "h1", timedelta(days=2)) == RAW
        assert resolution_for(store, "h1", timedelta(days=7)) == HOUR
        assert resolution_for(store, "h1", timedelta(days=90)) == DAY
    with open_store(tmp_path) as young:
        fill(young, "h2", vms=1, steps=24)  # two hours of history
        assert resolution_for(young, "h2", timedelta(days=90)) == RAW


@pytest.mark.parametrize("res", [HOUR, DAY])
def test_advice_from_rollups_matches_raw(fortnight: Path, res: int) -> None:
    with open_store(fortnight) as store:
        start = window_start(store, "h1", timedelta(days=DAYS))
        settings = store.latest_vm_settings(host="h1")
        raw = advise("h1", store.samples(host="h1", since=start, include_ambiguous=False),
                     settings)
        rolled = advise_rollups("h1", store.rollups("h1", res, since=start), settings)
    assert [a.vm_id for a in raw] == [a.vm_id for a in rolled] and len(raw) == 4
    for a, b in zip(raw, rolled, strict=True):
        assert a.evidence and b.evidence, (a.reason, b.reason)
        assert b.evidence.samples == a.evidence.samples
        for key in ("p5_mb", "p50_mb", "p95_mb", "p99_mb", "max_mb"):
            exact, approx = getattr(a.evidence, key), getattr(b.evidence, key)
            assert abs(approx - exact) <= 0.02 * exact, (key, exact, approx)
        assert abs((a.startup_mb or 0) - (b.startup_mb or 0)) <= step_for(a.startup_mb or 0)
        assert abs((a.maximum_mb or 0) - (b.maximum_mb or 0)) <= step_for(a.maximum_mb or 0)
        assert abs((a.buffer or 0) - (b.buffer or 0)) <= 5
        assert a.verdict == b.verdict


def _health(store: Store, res: int) -> tuple[list, list, list, list]:  # type: ignore[type-arg]
    start = window_start(store, "h1", timedelta(days=DAYS))
    samples = store.samples(host="h1", since=start)
    findings, health = rollup_health("h1", store.rollups("h1", res, since=start),
                                     store.balancer_rollups("h1", res, start), {})
    return pressure_findings("h1", samples, {}), vm_health(samples), findings, health


@pytest.mark.parametrize("res", [HOUR, DAY])
def test_audit_health_from_rollups_matches_raw(fortnight: Path, res: int) -> None:
    with open_store(fortnight) as store:
        raw_findings, raw_health, findings, health = _health(store, res)
    assert [(h.vm_id, h.samples) for h in health] == [(h.vm_id, h.samples) for h in raw_health]
    for a, b in zip(raw_health, health, strict=True):
        assert abs((a.mean_pressure or 0) - (b.mean_pressure or 0)) <= 1
    assert sorted((f.id, f.vm_id) for f in findings) == sorted(
        (f.id, f.vm_id) for f in raw_findings)


def test_commands_pick_rollups_for_long_windows(fortnight: Path, tmp_path: Path) -> None:
    def run(*args: str) -> str:
        result = run_cli(*args, state_dir=fortnight, catch_exceptions=True)
        assert result.exit_code == 0, result.output
        return result.stdout

    out = run("recommend", "--since", "14d", "--format", "json")
    assert '"samples": 4032' in out  # every sample of 14 days, counted from daily rollups
    # a page drawn from hourly rows (7 days) is smaller than one of 2 days of raw samples
    assert len(run("report", "--since", "7d")) < len(run("report", "--since", "2d"))


def test_chart_rows_are_bounded_by_buckets(fortnight: Path) -> None:
    from hvdyn.history.resolution import chart_balancer, chart_samples

    with open_store(fortnight) as store:
        day = chart_samples(store, "h1", timedelta(hours=24))
        week = chart_samples(store, "h1", timedelta(days=7))
        quarter = chart_samples(store, "h1", timedelta(days=90))
        raw_week = store.samples(host="h1", since=window_start(store, "h1", timedelta(days=7)))
        assert len(day) == 4 * 289  # raw: every 5-minute sample, both ends included
        assert len(week) == 4 * (7 * 24 + 1)  # hourly, the first hour cut by the window
        assert len(quarter) == 4 * DAYS  # daily: the store holds 14 days
        assert len(chart_balancer(store, "h1", timedelta(days=7))) == 7 * 24 + 1
        # a bucket's mean is the mean of its samples
        first = [s for s in raw_week if s.vm_name == "vm0" and s.ts[:13] == week[4].ts[:13]]
        assert week[4].vm_name == "vm0" and abs(
            (week[4].physical_mb or 0) - sum(s.physical_mb or 0 for s in first) / len(first)) <= 1
