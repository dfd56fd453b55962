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
from hvdyn.history.rows import epoch
from hvdyn.history.store import Store

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
