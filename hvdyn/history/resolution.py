"""Which data a window is read from: raw samples, hourly or daily rollups.

By the length of history the window really holds (a young store's 14-day
window holds an hour): up to 2 days raw samples (every sample; raw samples
are always kept at least that long), up to 31 days hourly rollups, beyond
that daily ones. Summaries of a whole window (recommend's percentiles)
read daily rollups from 7 days on: as exact there (the tolerance test
checks both) and 24 times fewer rows than hourly ones. Results read from
rollups match raw data within the tolerance tests/history/test_resolution.py
states.
"""

from __future__ import annotations

from datetime import timedelta

from hvdyn.history.rollups import DAY, HOUR
from hvdyn.history.rows import BalancerRow, SampleRow, epoch
from hvdyn.history.store import Store, window_start

RAW = 0
RAW_MAX = timedelta(days=2)
HOURLY_MAX = timedelta(days=31)
SUMMARY_DAILY_MIN = timedelta(days=7)
NAMES = {RAW: "raw samples", HOUR: "hourly rollups", DAY: "daily rollups"}


def resolution_for(store: Store, host: str, since: timedelta, *, summary: bool = False
                   ) -> int:
    """RAW, HOUR (3600) or DAY (86400) for a window `since` back from the host's newest sample.

    `summary`: the reader reduces the window to figures (no chart over time).
    """
    newest = store.newest_ts(host)
    oldest = store.oldest_ts(host)
    if newest is None or oldest is None:
        return RAW
    start = epoch(newest) - since.total_seconds()
    held = epoch(newest) - max(start, epoch(oldest))
    if held <= RAW_MAX.total_seconds():
        return RAW
    if summary and since >= SUMMARY_DAILY_MIN:
        return DAY
    return HOUR if since <= HOURLY_MAX else DAY


def chart_samples(store: Store, host: str, since: timedelta) -> list[SampleRow]:
    """A host's attributable VM samples over a window, ready to chart at any length.

    Raw samples when the window holds at most 2 days; otherwise one row per VM
    per hour (up to 31 days) or day, from rollups: `ts` is the bucket start,
    assigned memory, current and average pressure are the bucket's means,
    minimum/maximum pressure its lowest average and highest current pressure.
    Bounded by buckets, not by the sampling interval.
    """
    start = window_start(store, host, since)
    res = resolution_for(store, host, since)
    if res == RAW:
        return store.brief_samples(host=host, since=start, include_ambiguous=False)
    rows = sorted((r for r in store.rollups(host, res, since=start) if r.vm_id is not None),
                  key=lambda r: (r.bucket, r.vm_name))
    return [SampleRow(host=host, vm_id=r.vm_id, vm_name=r.vm_name, ts=r.bucket,
                      physical_mb=r.mb_mean, current_pressure=r.cp_mean,
                      average_pressure=r.ap_mean, minimum_pressure=r.ap_min,
                      maximum_pressure=r.cp_max) for r in rows]


def chart_balancer(store: Store, host: str, since: timedelta) -> list[BalancerRow]:
    """The host's balancer rows over a window: raw, or one per hour/day (means)."""
    start = window_start(store, host, since)
    res = resolution_for(store, host, since)
    if res == RAW:
        return store.balancer_samples(host=host, since=start)
    return [BalancerRow(host=host, name="Hyper-V Dynamic Memory Balancer", ts=b.bucket,
                        available_mb=b.av_mean, average_pressure=b.ap_mean)
            for b in store.balancer_rollups(host, res, start)]
