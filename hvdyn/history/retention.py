"""Retention: raw samples for a short window, hourly and daily rollups for longer.

Ages count back from each host's newest sample (its clock). Deletes walk the
(series, ts) and (host, ts) indexes from the old end, so their cost follows
what they delete, not the size of the store, and they run in short
transactions (a few hours of raw samples per host at most; several hosts
share one while it stays small) after collect's writes, never inside them.
Raw samples an hourly rollup has not yet covered are never deleted (nor
hourly rows a daily rollup has not covered).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hvdyn.history.rollups import DAY, HOUR, RollupMixin
from hvdyn.history.rows import epoch, format_ts, from_epoch

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


SLICE_S = {"raw": 6 * 3600, "hourly": 10 * 86400, "daily": 400 * 86400}


def _slice(oldest: int | None, cut: int, span: int) -> tuple[int | None, bool]:
    """The bound of this pass's delete (None: nothing to delete) and whether more is left."""
    if oldest is None or oldest >= cut:
        return None, False
    upto = min(cut, oldest + span)
    return upto, upto < cut


class RetentionMixin(RollupMixin):
    """`apply_retention` (collect, every run) and `prune` (collect --keep: everything)."""

    def _host_pass(self, conn: Any, host: str, cuts: dict[str, int | str]
                   ) -> tuple[Counter[str], bool]:
        """One pass over a host's tables: each deletes its oldest slice below its cut
        (at most 6 hours of raw samples, 10 days of hourly rows, 400 of daily ones).

        Finding the oldest row and deleting a range are index seeks per counter
        series, so a pass costs what it deletes plus a few seeks. Returns rows
        deleted per table and whether more are left.
        """
        deleted: Counter[str] = Counter()
        more = False
        of_host = "series IN (SELECT id FROM series WHERE host = ?)"
        oldest = conn.execute("SELECT min((SELECT min(ts) FROM samples WHERE series = r.id))"
                              " FROM series r WHERE host = ?", (host,)).fetchone()[0]
        upto, left = _slice(oldest, int(cuts["raw"]), SLICE_S["raw"])
        if upto is not None:
            deleted["samples"] += conn.execute(
                f"DELETE FROM samples WHERE {of_host} AND ts < ?", (host, upto)).rowcount
            more = more or left
        for table in ("balancer_samples", "host_memory"):
            first = conn.execute(f"SELECT min(ts) FROM {table} WHERE host = ?",
                                 (host,)).fetchone()[0]
            upto, left = _slice(None if first is None else epoch(first), int(cuts["raw"]),
                                SLICE_S["raw"])
            if upto is not None:
                deleted[table] += conn.execute(f"DELETE FROM {table} WHERE host = ? AND ts < ?",
                                               (host, from_epoch(upto))).rowcount
                more = more or left
        for res, name in ((HOUR, "hourly"), (DAY, "daily")):
            first = conn.execute(
                "SELECT min((SELECT min(bucket) FROM rollups WHERE series = r.id AND res = ?))"
                " FROM series r WHERE host = ?", (res, host)).fetchone()[0]
            upto, left = _slice(first, int(cuts[name]), SLICE_S[name])
            if upto is not None:
                deleted[f"rollups_{name}"] += conn.execute(
                    f"DELETE FROM rollups WHERE {of_host} AND res = ? AND bucket < ?",
                    (host, res, upto)).rowcount
                more = more or left
            first = conn.execute("SELECT min(bucket) FROM balancer_rollups WHERE host = ?"
                                 " AND res = ?", (host, res)).fetchone()[0]
            upto, left = _slice(first, int(cuts[name]), SLICE_S[name])
            if upto is not None:
                deleted[f"rollups_{name}"] += conn.execute(
                    "DELETE FROM balancer_rollups WHERE host = ? AND res = ? AND bucket < ?",
                    (host, res, upto)).rowcount
                more = more or left
        # settings rows say "from then on": each VM keeps its newest one
        deleted["vm_settings"] += conn.execute(
            "DELETE FROM vm_settings WHERE host = ? AND ts < ? AND id <> (SELECT max(id)"
            " FROM vm_settings v WHERE v.host = vm_settings.host"
            " AND v.vm_id = vm_settings.vm_id)", (host, cuts["settings_ts"])).rowcount
        return deleted, more

    def _delete(self, plans: list[tuple[str, dict[str, int | str]]], batch: int
                ) -> Counter[str]:
        """Run the hosts' passes, several hosts per short transaction (until it holds
        `batch` deleted rows), until nothing older than the cuts is left."""
        total: Counter[str] = Counter()
        pending = plans
        while pending:
            left: list[tuple[str, dict[str, int | str]]] = []
            with self._tx(durable=False) as conn:
                used = 0
                for host, cuts in pending:
                    if used >= batch:
                        left.append((host, cuts))
                        continue
                    deleted, more = self._host_pass(conn, host, cuts)
                    total += deleted
                    used += sum(deleted.values())
                    if more:
                        left.append((host, cuts))
            pending = left
        return total

    def apply_retention(self, retention: Retention = Retention(), *, batch: int = 5000
                        ) -> dict[str, int]:
        """Drop raw samples, hourly and daily rollups past their ages; returns rows deleted."""
        plans: list[tuple[str, dict[str, int | str]]] = []
        for host in self._hosts_with_history():
            newest = self._newest_epoch(host)
            if newest is None:
                continue
            marks = self._marks(host)
            raw_cut = min(newest - int(retention.raw.total_seconds()), marks.get(HOUR, 0))
            hour_cut = min(newest - int(retention.hourly.total_seconds()), marks.get(DAY, 0))
            day_cut = newest - int(retention.daily.total_seconds())
            plans.append((host, {"raw": raw_cut, "raw_ts": from_epoch(raw_cut),
                                 "hourly": hour_cut, "daily": day_cut,
                                 "settings_ts": from_epoch(day_cut)}))
        total = self._delete(plans, batch)
        return {k: total[k] for k in ("samples", "balancer_samples", "host_memory",
                                      "vm_settings", "rollups_hourly", "rollups_daily")}

    def _hosts_with_history(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT host FROM series UNION SELECT host FROM rollup_marks").fetchall()
        return sorted(str(r[0]) for r in rows)

    def prune(self, older_than: timedelta, *, now: datetime | None = None) -> dict[str, int]:
        """Delete raw history and runs older than `older_than` (collect --keep).

        Counter tables are cut per host relative to that host's newest sample
        (its clock); runs (with their journal and audits) relative to this
        machine's clock `now`. Each VM keeps its newest settings row (settings
        are stored only when they change). Rollups are left to their own
        retention (`apply_retention`), so `--keep 90d` keeps two years of
        daily rows.
        """
        cutoff_wall = format_ts((now or datetime.now(UTC)) - older_than)
        plans: list[tuple[str, dict[str, int | str]]] = []
        for host in self._hosts_with_history():
            newest = self._newest_epoch(host)
            if newest is not None:
                cut = newest - int(older_than.total_seconds())
                plans.append((host, {"raw": cut, "raw_ts": from_epoch(cut), "hourly": 0,
                                     "daily": 0, "settings_ts": from_epoch(cut)}))
        total = self._delete(plans, 50_000)
        deleted = {t: total[t] for t in ("samples", "balancer_samples", "host_memory",
                                         "vm_settings")}
        with self._tx(durable=False) as conn:
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
