"""Retention: raw samples for a short window, hourly and daily rollups for longer.

Ages count back from each host's newest sample (its clock). Deletes walk the
(series, ts) and (host, ts) indexes from the old end, so their cost follows
what they delete, not the size of the store, and they run in short
transactions of at most `batch` rows per table and series after collect's
writes, never inside them. Raw samples an hourly rollup has not yet covered
are never deleted (nor hourly rows a daily rollup has not covered).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hvdyn.history.rollups import DAY, HOUR, RollupMixin
from hvdyn.history.rows import format_ts, from_epoch

RAW_MIN = timedelta(days=2)  # readers use raw samples for windows up to this long


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    raw: timedelta = timedelta(days=14)
    hourly: timedelta = timedelta(days=90)
    daily: timedelta = timedelta(days=730)

    def __post_init__(self) -> None:
        if self.raw < RAW_MIN:
            raise ValueError(f"raw samples must be kept at least {RAW_MIN.days} days")
        if not self.raw <= self.hourly <= self.daily:
            raise ValueError("keep raw <= hourly <= daily")


def _chunked_delete(conn: Any, table: str, key: str, value: Any, column: str, cut: Any,
                    batch: int, extra: str = "", extra_args: tuple[Any, ...] = ()) -> int:
    """Delete up to `batch` rows with `column` < cut (oldest first); returns rows deleted."""
    where = f"{key} = ?{extra} AND {column} < ?"
    args = (value, *extra_args, cut)
    boundary = conn.execute(f"SELECT {column} FROM {table} WHERE {where} ORDER BY {column}"
                            " LIMIT 1 OFFSET ?", (*args, batch)).fetchone()
    limit = cut if boundary is None else boundary[0]
    cursor = conn.execute(f"DELETE FROM {table} WHERE {where}",
                          (value, *extra_args, limit))
    return int(cursor.rowcount)


class RetentionMixin(RollupMixin):
    """`apply_retention` (collect, every run) and `prune` (collect --keep: everything)."""

    def _host_cuts(self, host: str, cuts: dict[str, int | str], batch: int,
                   keep_newest_settings: bool = True) -> Counter[str]:
        """Delete one host's rows older than each table's cut, in batches; rows per table."""
        deleted: Counter[str] = Counter()
        with self._lock:
            series = [int(r[0]) for r in self._conn.execute(
                "SELECT id FROM series WHERE host = ?", (host,)).fetchall()]
        more = True
        while more:
            more = False
            with self._tx() as conn:
                for sid in series:
                    n = _chunked_delete(conn, "samples", "series", sid, "ts", cuts["raw"], batch)
                    for res, name in ((HOUR, "hourly"), (DAY, "daily")):
                        n2 = _chunked_delete(conn, "rollups", "series", sid, "bucket",
                                             cuts[name], batch, " AND res = ?", (res,))
                        deleted[f"rollups_{name}"] += n2
                        more = more or n2 == batch
                    deleted["samples"] += n
                    more = more or n == batch
                for table in ("balancer_samples", "host_memory"):
                    n = _chunked_delete(conn, table, "host", host, "ts", cuts["raw_ts"], batch)
                    deleted[table] += n
                    more = more or n == batch
                for res, name in ((HOUR, "hourly"), (DAY, "daily")):
                    n = _chunked_delete(conn, "balancer_rollups", "host", host, "bucket",
                                        cuts[name], batch, " AND res = ?", (res,))
                    deleted[f"rollups_{name}"] += n
                    more = more or n == batch
        with self._tx() as conn:
            # settings rows say "from then on": each VM keeps its newest one
            cursor = conn.execute(
                "DELETE FROM vm_settings WHERE host = ? AND ts < ? AND id <> (SELECT max(id)"
                " FROM vm_settings v WHERE v.host = vm_settings.host"
                " AND v.vm_id = vm_settings.vm_id)", (host, cuts["settings_ts"]))
            deleted["vm_settings"] += cursor.rowcount
        return deleted

    def apply_retention(self, retention: Retention = Retention(), *, batch: int = 5000
                        ) -> dict[str, int]:
        """Drop raw samples, hourly and daily rollups past their ages; returns rows deleted."""
        total: Counter[str] = Counter()
        for host in self._hosts_with_history():
            newest = self._newest_epoch(host)
            if newest is None:
                continue
            marks = self._marks(host)
            raw_cut = min(newest - int(retention.raw.total_seconds()), marks.get(HOUR, 0))
            hour_cut = min(newest - int(retention.hourly.total_seconds()), marks.get(DAY, 0))
            day_cut = newest - int(retention.daily.total_seconds())
            total += self._host_cuts(host, {
                "raw": raw_cut, "raw_ts": from_epoch(raw_cut), "hourly": hour_cut,
                "daily": day_cut, "settings_ts": from_epoch(day_cut)}, batch)
        return {k: total[k] for k in ("samples", "balancer_samples", "host_memory",
                                      "vm_settings", "rollups_hourly", "rollups_daily")}

    def _hosts_with_history(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT host FROM series UNION SELECT host FROM rollup_marks").fetchall()
        return sorted(str(r[0]) for r in rows)

    def prune(self, older_than: timedelta, *, now: datetime | None = None) -> dict[str, int]:
        """Delete all history older than `older_than`; returns rows deleted per table.

        Counter tables and rollups are cut per host relative to that host's
        newest sample (its clock); runs (with their journal and audits)
        relative to this machine's clock `now`. Each VM keeps its newest
        settings row (settings are stored only when they change).
        """
        cutoff_wall = format_ts((now or datetime.now(UTC)) - older_than)
        total: Counter[str] = Counter()
        for host in self._hosts_with_history():
            newest = self._newest_epoch(host)
            if newest is None:
                continue
            cut = newest - int(older_than.total_seconds())
            total += self._host_cuts(host, {
                "raw": cut, "raw_ts": from_epoch(cut), "hourly": cut, "daily": cut,
                "settings_ts": from_epoch(cut)}, 50_000)
        deleted = {t: total[t] for t in ("samples", "balancer_samples", "host_memory",
                                         "vm_settings")}
        with self._tx() as conn:
            journal = int(conn.execute(
                "SELECT count(*) FROM journal WHERE run_id IN"
                " (SELECT id FROM runs WHERE started < ?)", (cutoff_wall,)).fetchone()[0])
            audits = int(conn.execute(
                "SELECT count(*) FROM audits WHERE run_id IN"
                " (SELECT id FROM runs WHERE started < ?)", (cutoff_wall,)).fetchone()[0])
            deleted["runs"] = conn.execute("DELETE FROM runs WHERE started < ?",
                                           (cutoff_wall,)).rowcount
            deleted["journal"] = journal
            deleted["audits"] = audits
        return deleted
