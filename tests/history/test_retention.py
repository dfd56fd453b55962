"""Retention ages raw, hourly and daily data out; every query is an index search."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from hvdyn.history import Retention, open_store, window_start
from hvdyn.history.rollups import DAY, HOUR
from hvdyn.history.rows import epoch

from .conftest import fill


def test_retention_keeps_each_resolution_for_its_age(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store, "h1", vms=2, steps=288 * 12, batch_steps=288)  # 12 days
        newest = epoch(store.newest_ts("h1") or "")
        before_days = len(store.rollups("h1", DAY))
        deleted = store.apply_retention(Retention(raw=timedelta(days=3),
                                                  hourly=timedelta(days=6),
                                                  daily=timedelta(days=730)), batch=500)
        raw = store.samples(host="h1")
        assert min(epoch(s.ts) for s in raw) >= newest - 3 * 86400
        assert deleted["samples"] == 2 * (288 * 12 - len(raw) // 2)
        hours = store.rollups("h1", HOUR)
        assert min(epoch(r.bucket) for r in hours) >= newest - 6 * 86400 - HOUR
        assert len(store.rollups("h1", DAY)) == before_days  # daily rows all kept
        assert deleted["rollups_hourly"] > 0 and deleted["rollups_daily"] == 0
        assert len(store.balancer_samples(host="h1")) == len(raw) // 2
        # nothing left to delete: a second pass costs nothing
        assert not any(store.apply_retention(Retention(raw=timedelta(days=3),
                                                       hourly=timedelta(days=6))).values())
        # the long window still reads (from daily rows) the whole 12 days
        start = window_start(store, "h1", timedelta(days=60))
        assert sum(r.n for r in store.rollups("h1", DAY, since=start)) == 2 * 288 * 12


def test_raw_samples_not_yet_rolled_up_are_kept(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store, "h1", vms=1, steps=288 * 5, batch_steps=288, roll_up=False)
        store.apply_retention(Retention(raw=timedelta(days=2)))
        assert len(store.samples(host="h1")) == 288 * 5
        store.roll_up("h1")
        store.apply_retention(Retention(raw=timedelta(days=2)))
        assert len(store.samples(host="h1")) == 2 * 288 + 1


def test_retention_refuses_raw_shorter_than_readers_need() -> None:
    with pytest.raises(ValueError, match="at least 2 days"):
        Retention(raw=timedelta(hours=12))
    with pytest.raises(ValueError):
        Retention(raw=timedelta(days=30), hourly=timedelta(days=7))


BIG_TABLES = ("samples", "rollups", "balancer_samples", "host_memory", "vm_settings",
              "balancer_rollups", "journal", "audits")


def test_every_statement_searches_an_index(tmp_path: Path) -> None:
    """Run each read and write a collect/report/recommend/audit/retention does and check
    SQLite's plan: no statement scans a big table (a scan reads every host's rows)."""
    with open_store(tmp_path) as store:
        fill(store, "h1", vms=2, steps=300, batch_steps=50)
        fill(store, "h2", vms=2, steps=300, batch_steps=50)
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        fill(store, "h1", vms=2, steps=30, batch_steps=15,
             start=__import__("datetime").datetime(2026, 3, 3, 1, 0,
                                                   tzinfo=__import__("datetime").UTC))
        start = window_start(store, "h1", timedelta(days=1))
        store.samples(host="h1", since=start, include_ambiguous=False)
        store.samples(host="h1", vm_id="0B000000-0000-4000-8000-000000000000")
        store.brief_samples(host="h1", since=start)
        list(store.iter_samples(host="h1", since=start))
        store.latest_vm_settings(host="h1")
        store.settings_history("h1", since=start)
        store.balancer_samples(host="h1", since=start)
        store.rollups("h1", HOUR, since=start)
        store.rollups("h1", DAY, since=start)
        store.balancer_rollups("h1", DAY, start)
        store.newest_ts("h1")
        store.oldest_ts("h1")
        store.sample_hosts()
        store.apply_retention(Retention(raw=timedelta(days=2)))
        store.prune(timedelta(days=1))
        store._conn.set_trace_callback(None)
        conn = sqlite3.connect(store.path)
        checked = 0
        for sql in statements:
            if not re.match(r"\s*(SELECT|DELETE|UPDATE|INSERT)", sql, re.I):
                continue
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for table in BIG_TABLES:
                assert not re.search(rf"\bSCAN {table}\b(?! USING (COVERING )?INDEX \w+ \()",
                                     plan), f"{sql}\n-> {plan}"
            checked += 1
        assert checked > 30
