"""The store's SQLite schema and its migrations (see `hvdyn.store`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from hvdyn.errors import StoreError

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
        ('sent','applied','failed','pending','conflict','unknown')),
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

# Ordered: index i brings the schema from version i to i + 1. Append, never edit.
MIGRATIONS: tuple[str, ...] = (_V1, _V2)


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the schema to `len(migrations)`; each step in its own transaction."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(migrations):
        raise StoreError(
            f"the store has schema version {version}, newer than this hvdyn "
            f"knows ({len(migrations)}); upgrade hvdyn"
        )
    for index in range(version, len(migrations)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would COMMIT first; run statements one by one instead.
            for statement in migrations[index].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {index + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(migrations)
