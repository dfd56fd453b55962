"""Runs, the change journal, remembered guest facts and audit findings."""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping, Sequence
from typing import Any

from hvdyn.core.model import Change, GuestInfo, MemorySettings, VmFacts
from hvdyn.core.vocab import JournalOutcome, RunKind, RunOutcome
from hvdyn.history.db import StoreBase, columns_of
from hvdyn.history.rows import AuditRow, JournalRow, RunRow, now_ts


def insert_rows(conn: Any, table: str, rows: Sequence[Any]) -> None:
    if not rows:
        return
    cols = columns_of(type(rows[0]))
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    conn.executemany(sql, [tuple(getattr(r, c) for c in cols) for r in rows])


def _value(text: str | None) -> bool | int | None:
    return None if text is None else json.loads(text)


# What a journaled VM can end as: every outcome but `sent`, which is written before.
_FINAL_OUTCOMES = frozenset(JournalOutcome) - {JournalOutcome.SENT}

class RunsMixin(StoreBase):
    """Runs and what they did: the journal of apply/rollback, audit findings, guests."""

    # ------------------------------------------------------------ runs

    def start_run(
        self,
        command: RunKind,
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

    def finish_run(self, run_id: int, *, outcome: RunOutcome, exit_code: int) -> None:
        """Close a run. Journal rows still `sent` become `unknown`: no read-back came."""
        stamp = now_ts()
        with self._tx() as conn:
            conn.execute(
                "UPDATE runs SET finished = ?, outcome = ?, exit_code = ? WHERE id = ?",
                (stamp, outcome, exit_code, run_id),
            )
            conn.execute(
                "UPDATE journal SET outcome = ?, updated = ?,"
                " message = COALESCE(message, 'run ended without a read-back')"
                " WHERE run_id = ? AND outcome = ?",
                (JournalOutcome.UNKNOWN, stamp, run_id, JournalOutcome.SENT),
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
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        host,
                        vm_id,
                        vm_name,
                        change.field,
                        json.dumps(change.current),
                        json.dumps(change.desired),
                        JournalOutcome.SENT,
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
        outcome: JournalOutcome | str,
        after: MemorySettings | Mapping[str, bool | int] | None,
        message: str | None = None,
        state_after: int | None = None,
    ) -> int:
        """Record what the host read back for a VM's journaled fields; returns rows updated.

        `after` is the read-back settings (None when the host returned none);
        each row gets the value of its own field. Outcome is a `JournalOutcome`
        other than `sent`.
        """
        if outcome not in _FINAL_OUTCOMES:
            raise ValueError(f"journal outcome {outcome!r} is not a final outcome")
        values = after.as_dict() if isinstance(after, MemorySettings) else dict(after or {})
        stamp = now_ts()
        updated = 0
        with self._tx() as conn:
            # The GUID as journaled, through the (run_id, vm_id) index; `lower()` would scan
            # every row of the run for every VM (quadratic in VMs per run). A GUID journaled
            # in some other letter case is still found by the scan.
            rows = conn.execute(
                "SELECT id, field FROM journal WHERE run_id = ? AND vm_id IN (?, ?, ?)",
                (run_id, vm_id, vm_id.upper(), vm_id.lower()),
            ).fetchall()
            if not rows:
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
            insert_rows(conn, "audits", rows)

    def audits(self, run_id: int) -> list[AuditRow]:
        return self._query(AuditRow, "SELECT * FROM audits WHERE run_id = ? ORDER BY id", (run_id,))
