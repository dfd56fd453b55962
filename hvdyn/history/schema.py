"""The store's SQLite schema and its migrations (see `hvdyn.history`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from hvdyn.core.errors import StoreError
from hvdyn.core.vocab import JournalOutcome

# The journal's outcome CHECK lists `JournalOutcome`: the text is what version 1 always was.
_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, command TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
    user TEXT, policy_path TEXT, policy_digest TEXT, options TEXT NOT NULL DEFAULT '{}',
    outcome TEXT, exit_code INTEGER);
CREATE TABLE journal (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host TEXT NOT NULL, vm_id TEXT NOT NULL, vm_name TEXT NOT NULL, field TEXT NOT NULL,
    before TEXT NOT NULL, desired TEXT NOT NULL, after TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN
        """ + JournalOutcome.sql_list() + """),
    message TEXT, state_before INTEGER, state_after INTEGER,
    created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE INDEX journal_run ON journal(run_id, vm_id);
CREATE TABLE samples (
    id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    host TEXT NOT NULL, vm_id TEXT, vm_name TEXT NOT NULL, ts TEXT NOT NULL,
    physical_mb INTEGER, guest_visible_mb INTEGER, current_pressure INTEGER,
    average_pressure INTEGER, minimum_pressure INTEGER, maximum_pressure INTEGER,
    added_mb INTEGER, removed_mb INTEGER, add_ops INTEGER, remove_ops INTEGER,
    extra TEXT NOT NULL DEFAULT '{}', ambiguous INTEGER NOT NULL DEFAULT 0);
CREATE INDEX samples_host_ts ON samples(host, ts);
CREATE INDEX samples_vm_ts ON samples(vm_id, ts);
CREATE TABLE balancer_samples (
    id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    host TEXT NOT NULL, name TEXT NOT NULL, ts TEXT NOT NULL,
    available_mb INTEGER, average_pressure INTEGER, extra TEXT NOT NULL DEFAULT '{}');
CREATE INDEX balancer_host_ts ON balancer_samples(host, ts);
CREATE TABLE host_memory (
    id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    host TEXT NOT NULL, ts TEXT NOT NULL, total_mb INTEGER NOT NULL, free_mb INTEGER NOT NULL,
    reserve_mb INTEGER);
CREATE INDEX host_memory_host_ts ON host_memory(host, ts);
CREATE TABLE vm_settings (
    id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    host TEXT NOT NULL, vm_id TEXT NOT NULL, vm_name TEXT NOT NULL, ts TEXT NOT NULL,
    state INTEGER NOT NULL, dynamic INTEGER NOT NULL, startup_mb INTEGER NOT NULL,
    minimum_mb INTEGER NOT NULL, maximum_mb INTEGER NOT NULL, buffer INTEGER NOT NULL,
    weight INTEGER NOT NULL, os TEXT, arch TEXT);
CREATE INDEX vm_settings_vm_ts ON vm_settings(vm_id, ts);
CREATE TABLE audits (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    host TEXT NOT NULL, vm_id TEXT, vm_name TEXT, finding_id TEXT NOT NULL,
    severity TEXT NOT NULL, message TEXT NOT NULL, remediation TEXT NOT NULL);
CREATE INDEX audits_run ON audits(run_id);
"""

# Version 2: the guest facts last reported by each VM's integration services, so a
# VM that is off (and reports none) can still be matched on `os` and checked.
_V2 = """
CREATE TABLE guests (
    host TEXT NOT NULL, vm_id TEXT NOT NULL, vm_name TEXT NOT NULL, os TEXT NOT NULL,
    os_version TEXT, arch TEXT, ic_version TEXT, seen TEXT NOT NULL,
    PRIMARY KEY (host, vm_id));
"""

# Version 3: a store that holds months of a fleet.
# - samples: one compact row per counter instance per sample time, keyed by a
#   `series` (host, VM, counter instance name) and epoch seconds, clustered on
#   (series, ts) so one VM's or one host's window is a range read; `dup` tells
#   apart instances that share a name and a time (ambiguous counters).
# - vm_settings: one row per change (unchanged rows of earlier versions are
#   folded into the row they repeat; the settings history stays the same).
# - rollups: hourly (res 3600) and daily (res 86400) aggregates per series and
#   per host balancer, computed by collect as buckets close (`rollup_marks`).
_V3 = """
CREATE TABLE series (
    id INTEGER PRIMARY KEY, host TEXT NOT NULL, vm_id TEXT, vm_name TEXT NOT NULL,
    ambiguous INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX series_key ON series(host, vm_name, ifnull(vm_id, ''));
INSERT INTO series (host, vm_id, vm_name, ambiguous)
    SELECT host, vm_id, vm_name, max(ambiguous) FROM samples
    GROUP BY host, vm_name, ifnull(vm_id, '') ORDER BY host, vm_name;
CREATE TABLE samples_v3 (
    series INTEGER NOT NULL, ts INTEGER NOT NULL, dup INTEGER NOT NULL DEFAULT 0,
    run_id INTEGER,
    physical_mb INTEGER, guest_visible_mb INTEGER, current_pressure INTEGER,
    average_pressure INTEGER, minimum_pressure INTEGER, maximum_pressure INTEGER,
    added_mb INTEGER, removed_mb INTEGER, add_ops INTEGER, remove_ops INTEGER, extra TEXT,
    PRIMARY KEY (series, ts, dup)) WITHOUT ROWID;
INSERT INTO samples_v3
    SELECT r.id, CAST(strftime('%s', s.ts) AS INTEGER),
           row_number() OVER (PARTITION BY r.id, s.ts ORDER BY s.id) - 1, s.run_id,
           s.physical_mb, s.guest_visible_mb, s.current_pressure, s.average_pressure,
           s.minimum_pressure, s.maximum_pressure, s.added_mb, s.removed_mb, s.add_ops,
           s.remove_ops, nullif(s.extra, '{}')
    FROM samples s JOIN series r ON r.host = s.host AND r.vm_name = s.vm_name
         AND ifnull(r.vm_id, '') = ifnull(s.vm_id, '');
DROP TABLE samples;
ALTER TABLE samples_v3 RENAME TO samples;
DELETE FROM vm_settings WHERE id IN (
    SELECT id FROM (
        SELECT id, k, lag(k) OVER (PARTITION BY host, vm_id ORDER BY ts, id) AS prev FROM (
            SELECT id, host, vm_id, ts, quote(vm_name) || ',' || state || ',' || dynamic
                || ',' || startup_mb || ',' || minimum_mb || ',' || maximum_mb || ','
                || buffer || ',' || weight || ',' || quote(os) || ',' || quote(arch) AS k
            FROM vm_settings))
    WHERE k = prev);
DROP INDEX vm_settings_vm_ts;
CREATE INDEX vm_settings_host_vm ON vm_settings(host, vm_id, ts);
CREATE INDEX vm_settings_host_ts ON vm_settings(host, ts);
CREATE INDEX runs_started ON runs(started);
CREATE INDEX runs_command ON runs(command, id);
CREATE TABLE rollups (
    series INTEGER NOT NULL, res INTEGER NOT NULL, bucket INTEGER NOT NULL,
    n INTEGER NOT NULL, ap_min INTEGER, ap_mean INTEGER, ap_max INTEGER, ap_p95 INTEGER,
    cp_mean INTEGER, cp_max INTEGER, mb_min INTEGER, mb_mean INTEGER, mb_max INTEGER,
    mb_p95 INTEGER, dm_n INTEGER NOT NULL DEFAULT 0, dm_p5 INTEGER, dm_p50 INTEGER,
    dm_p95 INTEGER, dm_p99 INTEGER, dm_max INTEGER, burst_p95 INTEGER,
    PRIMARY KEY (series, res, bucket)) WITHOUT ROWID;
CREATE TABLE balancer_rollups (
    host TEXT NOT NULL, res INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,
    av_min INTEGER, av_mean INTEGER, av_max INTEGER, ap_mean INTEGER,
    PRIMARY KEY (host, res, bucket)) WITHOUT ROWID;
CREATE TABLE rollup_marks (
    host TEXT NOT NULL, res INTEGER NOT NULL, done_until INTEGER NOT NULL,
    PRIMARY KEY (host, res)) WITHOUT ROWID;
INSERT INTO rollup_marks (host, res, done_until)
    SELECT DISTINCT host, 3600, 0 FROM balancer_samples;
"""

# Ordered: index i brings the schema from version i to i + 1. Append, never edit.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the schema to `len(migrations)`; each step in its own transaction.

    The version is read again inside each write transaction: two processes
    opening the same store at once both see the other's finished steps and
    neither applies a step twice.
    """
    if _version(conn) > len(migrations):
        raise _too_new(_version(conn), len(migrations))
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _version(conn)
            if version > len(migrations):
                raise _too_new(version, len(migrations))
            if version == len(migrations):
                conn.execute("COMMIT")
                return version
            # executescript would COMMIT first; run statements one by one instead.
            for statement in _statements(migrations[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    """Split a migration at the `;` that end SQL statements (none sit inside quotes here)."""
    return [s for s in script.split(";") if s.strip()]


def _too_new(version: int, known: int) -> StoreError:
    return StoreError(f"the store has schema version {version}, newer than this hvdyn "
                      f"knows ({known}); upgrade hvdyn")
