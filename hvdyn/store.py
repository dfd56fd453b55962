"""SQLite store in the state dir: runs, the change journal, counter samples, audits.

Why SQLite: one file, transactional, readable by admins with stock tools.
WAL mode plus short write transactions (``BEGIN IMMEDIATE`` .. ``COMMIT``,
``synchronous=FULL``) means a process killed mid-write loses only the
transaction in flight; every committed batch survives. The schema is
versioned with ``PRAGMA user_version`` and an ordered list of migrations,
each applied in its own transaction.

Timestamps are UTC ISO text ``YYYY-MM-DDTHH:MM:SSZ`` so they sort as text.
Sample times are the *host's* clock (simulated hosts run their own clock);
run and journal times are this machine's wall clock.

One `Store` may be shared by the per-host worker threads: a lock
serialises use of its single connection.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from hvdyn.errors import StoreError
from hvdyn.model import Change, GuestInfo, MemorySettings, VmFacts
from hvdyn.store_rows import (
    AuditRow,
    BalancerRow,
    HostMemoryRow,
    JournalRow,
    RunRow,
    SampleRow,
    VmSettingsRow,
    format_ts,
    now_ts,
    parse_ts,
)
from hvdyn.store_schema import MIGRATIONS, migrate

DB_NAME = "hvdyn.sqlite3"
JOURNAL_OUTCOMES = ("sent", "applied", "failed", "pending", "conflict", "unknown")

# WMI property of "Hyper-V Dynamic Memory VM" -> samples column (reference §6.1).
VM_COUNTER_COLUMNS: Mapping[str, str] = {
    "PhysicalMemory": "physical_mb",
    "GuestVisiblePhysicalMemory": "guest_visible_mb",
    "CurrentPressure": "current_pressure",
    "AveragePressure": "average_pressure",
    "MinimumPressure": "minimum_pressure",
    "MaximumPressure": "maximum_pressure",
    "AddedMemory": "added_mb",
    "RemovedMemory": "removed_mb",
    "MemoryAddOperations": "add_ops",
    "MemoryRemoveOperations": "remove_ops",
}
BALANCER_COUNTER_COLUMNS: Mapping[str, str] = {
    "AvailableMemory": "available_mb",
    "AveragePressure": "average_pressure",
}


_R = TypeVar("_R")


def _columns(kind: type[Any]) -> list[str]:
    return [f.name for f in fields(kind)]


def _insert(conn: sqlite3.Connection, table: str, rows: Sequence[Any]) -> None:
    if not rows:
        return
    cols = _columns(type(rows[0]))
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.executemany(sql, [tuple(getattr(r, c) for c in cols) for r in rows])


def _value(text: str | None) -> bool | int | None:
    return None if text is None else json.loads(text)


# ---------------------------------------------------------------- the store


class Store:
    """The state dir's database. Use `open_store(state_dir)`; close when done."""

    def __init__(self, path: Path, migrations: Sequence[str] = MIGRATIONS) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self.schema_version = migrate(conn, migrations)
        except sqlite3.Error as exc:
            raise StoreError(f"store {path}: {exc}") from None
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; committed on exit, rolled back on error."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: {exc}") from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"store {self.path}: {exc}") from None
                raise

    def _query(self, kind: type[_R], sql: str, args: Sequence[Any] = ()) -> list[_R]:
        with self._lock:
            try:
                cursor = self._conn.execute(sql, tuple(args))
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: {exc}") from None
        wanted = set(_columns(kind))
        out: list[_R] = []
        for row in rows:
            values = {n: v for n, v in zip(names, row, strict=True) if n in wanted}
            out.append(kind(**values))
        return out

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Plain tuples for readers that need columns, not row objects, by the million."""
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: {exc}") from None

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._lock:
            row = self._conn.execute(sql, tuple(args)).fetchone()
        return None if row is None else row[0]

    # ------------------------------------------------------------ runs

    def start_run(
        self,
        command: str,
        *,
        policy_path: str | None = None,
        policy_digest: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> int:
        try:
            user: str | None = getpass.getuser()
        except (KeyError, OSError):
            user = None
        with self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (command, started, user, policy_path, policy_digest, options)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    command,
                    now_ts(),
                    user,
                    policy_path,
                    policy_digest,
                    json.dumps(dict(options or {}), sort_keys=True, default=str),
                ),
            )
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, *, outcome: str, exit_code: int) -> None:
        """Close a run. Journal rows still `sent` become `unknown`: no read-back came."""
        stamp = now_ts()
        with self._tx() as conn:
            conn.execute(
                "UPDATE runs SET finished = ?, outcome = ?, exit_code = ? WHERE id = ?",
                (stamp, outcome, exit_code, run_id),
            )
            conn.execute(
                "UPDATE journal SET outcome = 'unknown', updated = ?,"
                " message = COALESCE(message, 'run ended without a read-back')"
                " WHERE run_id = ? AND outcome = 'sent'",
                (stamp, run_id),
            )

    def run(self, run_id: int) -> RunRow | None:
        rows = self._query(RunRow, "SELECT * FROM runs WHERE id = ?", (run_id,))
        return rows[0] if rows else None

    def runs(self, *, command: str | None = None, limit: int = 50) -> list[RunRow]:
        where, args = ("WHERE command = ?", [command]) if command else ("", [])
        return self._query(
            RunRow, f"SELECT * FROM runs {where} ORDER BY id DESC LIMIT ?", [*args, limit]
        )

    # ------------------------------------------------------------ journal

    def journal_intent(
        self,
        run_id: int,
        *,
        host: str,
        vm_id: str,
        vm_name: str,
        changes: Sequence[Change],
        state_before: int | None,
    ) -> list[int]:
        """Record what is about to be sent for one VM (outcome `sent`), before sending.

        One row per changed field: before = `Change.current`, desired =
        `Change.desired`. Committed before returning, so a crash after this
        call still leaves the old values for rollback.
        """
        stamp = now_ts()
        ids: list[int] = []
        with self._tx() as conn:
            for change in changes:
                cursor = conn.execute(
                    "INSERT INTO journal (run_id, host, vm_id, vm_name, field, before, desired,"
                    " outcome, state_before, created, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'sent', ?, ?, ?)",
                    (
                        run_id,
                        host,
                        vm_id,
                        vm_name,
                        change.field,
                        json.dumps(change.current),
                        json.dumps(change.desired),
                        state_before,
                        stamp,
                        stamp,
                    ),
                )
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def journal_outcome(
        self,
        run_id: int,
        *,
        vm_id: str,
        outcome: str,
        after: MemorySettings | Mapping[str, bool | int] | None,
        message: str | None = None,
        state_after: int | None = None,
    ) -> int:
        """Record what the host read back for a VM's journaled fields; returns rows updated.

        `after` is the read-back settings (None when the host returned none);
        each row gets the value of its own field. Outcome is one of
        `JOURNAL_OUTCOMES` except `sent`.
        """
        if outcome not in JOURNAL_OUTCOMES or outcome == "sent":
            raise ValueError(f"journal outcome {outcome!r} is not a final outcome")
        values = after.as_dict() if isinstance(after, MemorySettings) else dict(after or {})
        stamp = now_ts()
        updated = 0
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT id, field FROM journal WHERE run_id = ? AND lower(vm_id) = lower(?)",
                (run_id, vm_id),
            ).fetchall()
            for row_id, field_name in rows:
                value = values.get(field_name)
                conn.execute(
                    "UPDATE journal SET outcome = ?, after = ?, message = ?, state_after = ?,"
                    " updated = ? WHERE id = ?",
                    (
                        outcome,
                        None if value is None else json.dumps(value),
                        message,
                        state_after,
                        stamp,
                        row_id,
                    ),
                )
                updated += 1
        return updated

    def journal(self, run_id: int) -> list[JournalRow]:
        """Every journal row of a run, in the order they were written."""
        with self._lock:
            cursor = self._conn.execute(
                "SELECT * FROM journal WHERE run_id = ? ORDER BY id", (run_id,)
            )
            names = [d[0] for d in cursor.description]
            raw = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        rows: list[JournalRow] = []
        for r in raw:
            r["before"] = _value(r["before"])
            r["desired"] = _value(r["desired"])
            r["after"] = _value(r["after"])
            rows.append(JournalRow(**r))
        return rows

    # ------------------------------------------------------------ samples

    def add_collection(
        self,
        *,
        samples: Sequence[SampleRow],
        balancer: Sequence[BalancerRow],
        host_memory: Sequence[HostMemoryRow],
        vm_settings: Sequence[VmSettingsRow] = (),
    ) -> None:
        """Store one host's collected batch in one transaction (all or nothing)."""
        with self._tx() as conn:
            _insert(conn, "samples", samples)
            _insert(conn, "balancer_samples", balancer)
            _insert(conn, "host_memory", host_memory)
            _insert(conn, "vm_settings", vm_settings)

    def samples(
        self,
        *,
        host: str | None = None,
        vm_id: str | None = None,
        since: str | None = None,
        include_ambiguous: bool = True,
    ) -> list[SampleRow]:
        where, args = _filters(host=host, vm_id=vm_id, since=since)
        if not include_ambiguous:
            where.append("ambiguous = 0")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._query(
            SampleRow, f"SELECT * FROM samples {clause} ORDER BY host, ts, vm_name", args
        )

    def balancer_samples(
        self, *, host: str | None = None, since: str | None = None
    ) -> list[BalancerRow]:
        where, args = _filters(host=host, since=since)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._query(
            BalancerRow, f"SELECT * FROM balancer_samples {clause} ORDER BY ts", args
        )

    def host_memory(
        self, *, host: str | None = None, since: str | None = None
    ) -> list[HostMemoryRow]:
        where, args = _filters(host=host, since=since)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._query(HostMemoryRow, f"SELECT * FROM host_memory {clause} ORDER BY ts", args)

    def latest_vm_settings(self, *, host: str | None = None) -> list[VmSettingsRow]:
        """The newest settings row of every VM (optionally of one host)."""
        where, args = _filters(host=host)
        clause = f"AND {' AND '.join(where)}" if where else ""
        return self._query(
            VmSettingsRow,
            "SELECT * FROM vm_settings WHERE id IN (SELECT max(id) FROM vm_settings"
            f" GROUP BY host, vm_id) {clause} ORDER BY host, vm_name",
            args,
        )

    def sample_hosts(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT host FROM samples UNION SELECT host FROM balancer_samples ORDER BY 1"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def newest_ts(self, host: str) -> str | None:
        """The host's newest sample time: 'now' on that host's clock."""
        value = self.scalar(
            "SELECT max(ts) FROM (SELECT max(ts) AS ts FROM samples WHERE host = ?"
            " UNION ALL SELECT max(ts) FROM balancer_samples WHERE host = ?)",
            (host, host),
        )
        return None if value is None else str(value)

    # ------------------------------------------------------------ guests

    def remember_guests(self, host: str, vms: Sequence[VmFacts]) -> None:
        """Keep what each running VM's integration services report (see `recall_guests`)."""
        seen = now_ts()
        rows = [
            (
                host,
                vm.id.upper(),
                vm.name,
                vm.guest.os_name,
                vm.guest.os_version,
                vm.guest.arch,
                vm.guest.ic_version,
                seen,
            )
            for vm in vms
            if vm.guest.os_name
        ]
        if not rows:
            return
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO guests (host, vm_id, vm_name, os, os_version, arch, ic_version,"
                " seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host, vm_id) DO UPDATE"
                " SET vm_name = excluded.vm_name, os = excluded.os,"
                " os_version = excluded.os_version, arch = excluded.arch,"
                " ic_version = excluded.ic_version, seen = excluded.seen",
                rows,
            )

    def recall_guests(self, host: str) -> dict[str, tuple[GuestInfo, str]]:
        """VM GUID (upper case) -> the guest facts last reported, and when."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT vm_id, os, os_version, arch, ic_version, seen FROM guests WHERE host = ?",
                (host,),
            ).fetchall()
        return {
            str(vm_id): (
                GuestInfo(os_name=os_name, os_version=os_version, arch=arch, ic_version=ic_version),
                str(seen),
            )
            for vm_id, os_name, os_version, arch, ic_version, seen in rows
        }

    # ------------------------------------------------------------ audits

    def add_audit(self, rows: Sequence[AuditRow]) -> None:
        with self._tx() as conn:
            _insert(conn, "audits", rows)

    def audits(self, run_id: int) -> list[AuditRow]:
        return self._query(AuditRow, "SELECT * FROM audits WHERE run_id = ? ORDER BY id", (run_id,))

    # ------------------------------------------------------------ retention

    def prune(self, older_than: timedelta, *, now: datetime | None = None) -> dict[str, int]:
        """Delete history older than `older_than`; returns rows deleted per table.

        Counter tables are cut per host relative to that host's newest sample
        (its clock, see module doc); runs (with their journal and audits)
        relative to this machine's clock `now`.
        """
        cutoff_wall = format_ts((now or datetime.now(UTC)) - older_than)
        deleted: dict[str, int] = {}
        hosts = self.sample_hosts()
        with self._tx() as conn:
            for table in ("samples", "balancer_samples", "host_memory", "vm_settings"):
                deleted[table] = 0
            for host in hosts:
                newest = self._newest_unlocked(conn, host)
                if newest is None:
                    continue
                cutoff = format_ts(parse_ts(newest) - older_than)
                for table in ("samples", "balancer_samples", "host_memory", "vm_settings"):
                    cursor = conn.execute(
                        f"DELETE FROM {table} WHERE host = ? AND ts < ?", (host, cutoff)
                    )
                    deleted[table] += cursor.rowcount
            journal_rows = conn.execute(
                "SELECT count(*) FROM journal WHERE run_id IN"
                " (SELECT id FROM runs WHERE started < ?)",
                (cutoff_wall,),
            ).fetchone()[0]
            audit_rows = conn.execute(
                "SELECT count(*) FROM audits WHERE run_id IN"
                " (SELECT id FROM runs WHERE started < ?)",
                (cutoff_wall,),
            ).fetchone()[0]
            cursor = conn.execute("DELETE FROM runs WHERE started < ?", (cutoff_wall,))
            deleted["runs"] = cursor.rowcount
            deleted["journal"] = int(journal_rows)
            deleted["audits"] = int(audit_rows)
        return deleted

    @staticmethod
    def _newest_unlocked(conn: sqlite3.Connection, host: str) -> str | None:
        row = conn.execute(
            "SELECT max(ts) FROM (SELECT max(ts) AS ts FROM samples WHERE host = ?"
            " UNION ALL SELECT max(ts) FROM balancer_samples WHERE host = ?)",
            (host, host),
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])


def _filters(
    *, host: str | None = None, vm_id: str | None = None, since: str | None = None
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if host is not None:
        where.append("host = ?")
        args.append(host)
    if vm_id is not None:
        where.append("lower(vm_id) = lower(?)")
        args.append(vm_id)
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    return where, args


def store_path(state_dir: Path) -> Path:
    return Path(state_dir) / DB_NAME


def open_store(state_dir: Path) -> Store:
    """Open (creating and migrating as needed) the store of a state dir."""
    return Store(store_path(state_dir))


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """'90d', '24h', '30m', '2w', '45s' -> timedelta; ValueError for anything else."""
    value = text.strip().lower()
    if len(value) < 2 or value[-1] not in _DURATION_UNITS or not value[:-1].isdigit():
        raise ValueError(f"{text!r} is not a duration like 30m, 24h, 7d or 2w")
    amount = int(value[:-1])
    if amount <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=amount * _DURATION_UNITS[value[-1]])


def window_start(store: Store, host: str, since: timedelta) -> str | None:
    """Start of the window `since` back from the host's newest sample; None without samples."""
    newest = store.newest_ts(host)
    return None if newest is None else format_ts(parse_ts(newest) - since)
