"""The collect write path: counter samples, balancer and host rows, settings on change.

One call stores one batch of one host in one short transaction, then rolls
up the buckets that batch closed (its own transaction). A VM's settings row
is written only when something in it differs from the VM's newest row, so
an unchanged fleet costs nothing per collect.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hvdyn.history.rollups import RollupMixin
from hvdyn.history.rows import BalancerRow, HostMemoryRow, SampleRow, VmSettingsRow, epoch
from hvdyn.history.runs import insert_rows
from hvdyn.history.schema import MIGRATIONS

COUNTERS = ("physical_mb", "guest_visible_mb", "current_pressure", "average_pressure",
            "minimum_pressure", "maximum_pressure", "added_mb", "removed_mb", "add_ops",
            "remove_ops")
SETTINGS_KEY = ("vm_name", "state", "dynamic", "startup_mb", "minimum_mb", "maximum_mb",
                "buffer", "weight", "os", "arch")
_INSERT_SAMPLE = (f"INSERT INTO samples (series, ts, dup, run_id, {', '.join(COUNTERS)}, extra)"
                  f" VALUES ({', '.join('?' * (len(COUNTERS) + 5))})")

SeriesKey = tuple[str, str, str]  # host, counter instance name, VM id ('' when ambiguous)


def _empty_extra(text: str) -> bool:
    if text == "{}":
        return True
    try:
        return not json.loads(text)
    except ValueError:
        return False


class WriteMixin(RollupMixin):
    """`add_collection` and the series ids it keeps in memory."""

    def __init__(self, path: Path, migrations: Sequence[str] = MIGRATIONS) -> None:
        super().__init__(path, migrations)
        self._series_ids: dict[SeriesKey, int] = {}  # replaced after commits, never mutated

    def _series(self, conn: Any, rows: Sequence[SampleRow]) -> dict[SeriesKey, int]:
        """Series ids of the rows: from memory, the table, or new rows (in `conn`'s
        transaction; the caller remembers them once it commits)."""
        known = dict(self._series_ids)
        for row in rows:
            key = (row.host, row.vm_name, row.vm_id or "")
            if key in known:
                continue
            found = conn.execute("SELECT id FROM series WHERE host = ? AND vm_name = ?"
                                 " AND ifnull(vm_id, '') = ?", key).fetchone()
            if found is None:
                found = conn.execute(
                    "INSERT INTO series (host, vm_id, vm_name, ambiguous) VALUES (?, ?, ?, ?)"
                    " RETURNING id", (row.host, row.vm_id, row.vm_name, int(row.ambiguous))
                ).fetchone()
            known[key] = int(found[0])
        return known

    def _insert_samples(self, conn: Any, rows: Sequence[SampleRow]) -> dict[SeriesKey, int]:
        ids = self._series(conn, rows)
        stamps: dict[str, int] = {}  # a batch holds few distinct times: parse each once
        keyed = [(ids[(r.host, r.vm_name, r.vm_id or "")],
                  stamps.get(r.ts) or stamps.setdefault(r.ts, epoch(r.ts)), r) for r in rows]
        # instances sharing a name and a time (ambiguous counters) are told apart by `dup`,
        # counted on from what an earlier batch stored at that time
        series_ids = sorted({series for series, _, _ in keyed})
        times = [ts for _, ts, _ in keyed]
        taken: Counter[tuple[int, int]] = Counter()
        for series, ts, count in conn.execute(
                f"SELECT series, ts, max(dup) + 1 FROM samples WHERE series IN"
                f" ({', '.join('?' * len(series_ids))}) AND ts BETWEEN ? AND ?"
                " GROUP BY series, ts", (*series_ids, min(times), max(times))):
            taken[(int(series), int(ts))] = int(count)
        values = []
        for series, ts, r in keyed:
            dup = taken[(series, ts)]
            taken[(series, ts)] += 1
            values.append((series, ts, dup, r.run_id, *(getattr(r, c) for c in COUNTERS),
                           None if _empty_extra(r.extra) else r.extra))
        conn.executemany(_INSERT_SAMPLE, values)
        return ids

    def _changed_settings(self, conn: Any, rows: Sequence[VmSettingsRow]
                          ) -> list[VmSettingsRow]:
        changed: list[VmSettingsRow] = []
        for host in sorted({r.host for r in rows}):
            newest = {
                str(vm_id).upper(): tuple(values)
                for vm_id, *values in conn.execute(
                    f"SELECT vm_id, {', '.join(SETTINGS_KEY)} FROM vm_settings v WHERE host = ?"
                    " AND id = (SELECT max(id) FROM vm_settings WHERE host = v.host"
                    " AND vm_id = v.vm_id)", (host,))
            }
            for row in rows:
                if row.host != host:
                    continue
                key = tuple(int(v) if isinstance(v, bool) else v
                            for v in (getattr(row, c) for c in SETTINGS_KEY))
                if newest.get(row.vm_id.upper()) != key:
                    changed.append(row)
                    newest[row.vm_id.upper()] = key
        return changed

    def add_collection(
        self,
        *,
        samples: Sequence[SampleRow],
        balancer: Sequence[BalancerRow],
        host_memory: Sequence[HostMemoryRow],
        vm_settings: Sequence[VmSettingsRow] = (),
        roll_up: bool = True,
    ) -> int:
        """Store one batch in one transaction (all or nothing), then roll up what closed.

        Settings rows equal to the VM's newest stored row are skipped; returns
        how many settings rows were written (changes).
        """
        ids: dict[SeriesKey, int] = {}
        with self._tx(durable=False) as conn:
            if samples:
                ids = self._insert_samples(conn, samples)
            insert_rows(conn, "balancer_samples", balancer)
            insert_rows(conn, "host_memory", host_memory)
            changed = self._changed_settings(conn, vm_settings) if vm_settings else []
            insert_rows(conn, "vm_settings", changed)
        if ids:
            self._series_ids = ids
        if roll_up:
            latest: dict[str, str] = {}
            for name, stamp in [(s.host, s.ts) for s in samples] + [(b.host, b.ts)
                                                                    for b in balancer]:
                if stamp > latest.get(name, ""):
                    latest[name] = stamp
            newest = {name: epoch(stamp) for name, stamp in latest.items()}
            for name, last in newest.items():
                self.roll_up(name, last)
        return len(changed)
