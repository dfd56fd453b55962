"""The store: migrations, the journal API, retention, threads, and a killed writer."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hvdyn.core.errors import StoreError
from hvdyn.core.model import Change
from hvdyn.history import Store, open_store, parse_duration, store_path
from hvdyn.history.rows import BalancerRow, HostMemoryRow, SampleRow, format_ts
from hvdyn.history.schema import MIGRATIONS

from .conftest import INVENTORY

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _samples(host: str, start: datetime, count: int, step: timedelta) -> list[SampleRow]:
    return [SampleRow(host=host, vm_id="VM-1", vm_name="a", ts=format_ts(start + i * step),
                      physical_mb=1024, current_pressure=50) for i in range(count)]


def test_fresh_store_is_wal_and_at_latest_version(tmp_path: Path) -> None:
    with open_store(tmp_path):
        pass
    conn = sqlite3.connect(store_path(tmp_path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "journal", "samples", "balancer_samples", "host_memory", "audits"} <= tables


def test_migrations_run_in_order_and_keep_data(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with Store(path) as store:
        store.add_collection(samples=_samples("h", T0, 3, timedelta(minutes=1)), balancer=[],
                             host_memory=[])
    extra = "ALTER TABLE samples ADD COLUMN note TEXT; CREATE TABLE later (x INTEGER)"
    with Store(path, migrations=(*MIGRATIONS, extra)) as store:
        assert store.schema_version == len(MIGRATIONS) + 1
        assert len(store.samples(host="h")) == 3
    with pytest.raises(StoreError, match="newer than this hvdyn"):
        Store(path)


def test_failed_migration_leaves_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    Store(path).close()
    with pytest.raises(StoreError):
        Store(path, migrations=(*MIGRATIONS, "CREATE TABLE ok (x); CREATE TABLE runs (x)"))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='ok'").fetchone()[0] == 0


def test_journal_intent_then_outcome(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        run = store.start_run("apply", policy_path="/p.yaml", policy_digest="abc",
                              options={"allow_restart": True})
        changes = [Change(field="dynamic", current=False, desired=True, needs_off=True),
                   Change(field="startup_mb", current=2048, desired=1024, needs_off=True)]
        ids = store.journal_intent(run, host="h1", vm_id="VM-A", vm_name="a", changes=changes,
                                   state_before=2)
        store.journal_intent(run, host="h1", vm_id="VM-B", vm_name="b",
                             changes=[Change(field="buffer", current=20, desired=10,
                                             needs_off=False)], state_before=2)
        assert len(ids) == 2
        rows = store.journal(run)
        assert [(r.field, r.before, r.desired, r.outcome) for r in rows] == [
            ("dynamic", False, True, "sent"), ("startup_mb", 2048, 1024, "sent"),
            ("buffer", 20, 10, "sent")]
        assert rows[0].before is False  # bools stay bools
        updated = store.journal_outcome(run, vm_id="vm-a", outcome="applied",
                                        after={"dynamic": True, "startup_mb": 1024},
                                        message="applied", state_after=2)
        assert updated == 2
        with pytest.raises(ValueError):
            store.journal_outcome(run, vm_id="VM-B", outcome="sent", after=None)
        with pytest.raises(ValueError, match="'done' is not a final outcome"):
            store.journal_outcome(run, vm_id="VM-B", outcome="done", after=None)
        store.finish_run(run, outcome="changed", exit_code=0)
        rows = store.journal(run)
        assert [(r.vm_id, r.after, r.outcome) for r in rows] == [
            ("VM-A", True, "applied"), ("VM-A", 1024, "applied"), ("VM-B", None, "unknown")]
        assert rows[2].message == "run ended without a read-back"
        finished = store.run(run)
        assert finished is not None and finished.exit_code == 0 and finished.finished


def test_prune_is_relative_to_each_hosts_newest_sample(tmp_path: Path) -> None:
    old_run_time = datetime.now(UTC) - timedelta(days=200)
    with open_store(tmp_path) as store:
        day = timedelta(days=1)
        store.add_collection(
            samples=_samples("sim", T0, 100, day) + _samples("real", T0 + 50 * day, 10, day),
            balancer=[BalancerRow(host="sim", name="b", ts=format_ts(T0 + i * day),
                                  available_mb=4096) for i in range(100)],
            host_memory=[HostMemoryRow(host="sim", ts=format_ts(T0), total_mb=1, free_mb=1)])
        run = store.start_run("audit")
        store.journal_intent(run, host="sim", vm_id="V", vm_name="v", state_before=None,
                             changes=[Change(field="buffer", current=1, desired=2,
                                             needs_off=False)])
        keep = store.start_run("audit")
        store._conn.execute("UPDATE runs SET started = ? WHERE id = ?",
                            (format_ts(old_run_time), run))
        deleted = store.prune(parse_duration("90d"))
        assert deleted["samples"] == 9  # sim: days 0..8 are > 90 days before day 99
        assert deleted["balancer_samples"] == 9 and deleted["host_memory"] == 1
        assert len(store.samples(host="real")) == 10  # its newest is day 59: nothing old
        assert (deleted["runs"], deleted["journal"]) == (1, 1)
        assert store.run(run) is None and store.run(keep) is not None
        assert store.journal(run) == []


def test_parse_duration() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("30m") == timedelta(minutes=30)
    for bad in ("", "d", "10", "1y", "-1d", "0h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_concurrent_writers_share_one_store(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        def work(n: int) -> None:
            for i in range(20):
                store.add_collection(samples=_samples(f"h{n}", T0 + timedelta(hours=i), 5,
                                                      timedelta(minutes=1)),
                                     balancer=[], host_memory=[])
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(store.samples()) == 8 * 20 * 5


def test_store_survives_a_killed_writer(tmp_path: Path) -> None:
    state = tmp_path / "state"
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "writer.py"), str(state), str(INVENTORY)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    committed = (0, 0)
    try:
        for line in child.stdout:
            _, batch, total = line.split()
            committed = (int(batch), int(total))
            if committed[0] >= 15:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    assert committed[0] >= 15
    conn = sqlite3.connect(store_path(state))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with open_store(state) as store:
        samples = store.samples(host="hv-obs-02")
        balancer = store.balancer_samples(host="hv-obs-02")
    # every announced batch is there, and batches are whole: 5 samples + 5 balancer rows each
    assert len(samples) >= committed[1]
    assert len(samples) % 5 == 0 and len(balancer) == len(samples)
    assert len({s.ts for s in samples}) == len(samples)
