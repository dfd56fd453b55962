"""Hourly and daily aggregates, computed incrementally as collect stores samples.

An hour is rolled up from raw samples once a sample at or after its end has
arrived (the host's clock); a day from its 24 hourly rows once the day is
over. `rollup_marks` keeps, per host and resolution, where the last roll-up
stopped, so each collect only touches the buckets that closed since.
Readers also get the still-open tail (computed on the fly from raw samples),
so a window read from rollups reaches up to the newest sample.
"""

from __future__ import annotations

import itertools
import statistics
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from hvdyn.history.db import StoreBase
from hvdyn.history.rows import BalancerRollupRow, RollupRow, epoch, from_epoch
from hvdyn.history.stats import (
    mixture_quantiles,
    percentile,
    weighted_mean,
    weighted_percentile,
)

HOUR = 3600
DAY = 86400
STAT_COLUMNS = ("n", "ap_min", "ap_mean", "ap_max", "ap_p95", "cp_mean", "cp_max", "mb_min",
                "mb_mean", "mb_max", "mb_p95", "dm_n", "dm_p5", "dm_p50", "dm_p95", "dm_p99",
                "dm_max", "burst_p95")
_CHUNK_S = DAY  # raw samples read per roll-up transaction
FOREVER = 253402300799  # 9999-12-31T23:59:59Z: "up to the newest sample"

Stats = dict[str, int | None]
Raw = tuple[int, int | None, int | None, int | None]  # ts, average pressure, current, assigned


def _r(value: float | None) -> int | None:
    return None if value is None else round(value)


def stats_of(samples: Sequence[Raw]) -> Stats:
    """One bucket's aggregates from its raw samples (oldest first)."""
    ap = [s[1] for s in samples if s[1] is not None]
    cp = [s[2] for s in samples if s[2] is not None]
    mb = [s[3] for s in samples if s[3] is not None]
    demand = [c * m / 100 for _, _, c, m in samples if c and m]
    rises = [max(0.0, (b - a) / a) for a, b in itertools.pairwise(demand) if a > 0]
    return {
        "n": len(samples),
        "ap_min": min(ap, default=None), "ap_mean": _r(statistics.fmean(ap)) if ap else None,
        "ap_max": max(ap, default=None), "ap_p95": _r(percentile(ap, 95)) if ap else None,
        "cp_mean": _r(statistics.fmean(cp)) if cp else None, "cp_max": max(cp, default=None),
        "mb_min": min(mb, default=None), "mb_mean": _r(statistics.fmean(mb)) if mb else None,
        "mb_max": max(mb, default=None), "mb_p95": _r(percentile(mb, 95)) if mb else None,
        "dm_n": len(demand),
        "dm_p5": _r(percentile(demand, 5)) if demand else None,
        "dm_p50": _r(percentile(demand, 50)) if demand else None,
        "dm_p95": _r(percentile(demand, 95)) if demand else None,
        "dm_p99": _r(percentile(demand, 99)) if demand else None,
        "dm_max": _r(max(demand)) if demand else None,
        "burst_p95": _r(percentile(rises, 95) * 1000) if rises else None,
    }


def merge_stats(parts: Sequence[Any]) -> Stats:
    """Aggregates of a longer span from its buckets (RollupRow or anything with the fields).

    n, min, max and means are exact (means to the unit kept); demand
    percentiles come from the mixture of the buckets' percentile curves
    (`mixture_quantiles`); P95 of pressure and assigned memory is the
    weighted P95 of the buckets' P95s, and the burst the weighted mean of
    theirs (see `hvdyn.history.stats`).
    """
    def pairs(name: str, weight: str = "n") -> list[tuple[float, int]]:
        return [(float(v), int(getattr(p, weight))) for p in parts
                if (v := getattr(p, name)) is not None and getattr(p, weight)]

    def pct(name: str, q: float, weight: str = "n") -> int | None:
        values = pairs(name, weight)
        return _r(weighted_percentile(values, q)) if values else None

    def extreme(name: str, pick: Any) -> int | None:
        values = [getattr(p, name) for p in parts if getattr(p, name) is not None]
        return pick(values) if values else None

    demand = [(int(p.dm_n), [(float(p.dm_p5), 0.05), (float(p.dm_p50), 0.5),
                             (float(p.dm_p95), 0.95), (float(p.dm_p99), 0.99),
                             (float(p.dm_max), 1.0)])
              for p in parts if p.dm_n and None not in (p.dm_p5, p.dm_p50, p.dm_p95, p.dm_p99,
                                                         p.dm_max)]
    quantiles = [_r(v) for v in mixture_quantiles(demand, (5, 50, 95, 99))] if demand \
        else [None] * 4
    burst = pairs("burst_p95", "dm_n")
    return {
        "n": sum(p.n for p in parts),
        "ap_min": extreme("ap_min", min), "ap_mean": _r(weighted_mean(pairs("ap_mean"))),
        "ap_max": extreme("ap_max", max), "ap_p95": pct("ap_p95", 95),
        "cp_mean": _r(weighted_mean(pairs("cp_mean"))), "cp_max": extreme("cp_max", max),
        "mb_min": extreme("mb_min", min), "mb_mean": _r(weighted_mean(pairs("mb_mean"))),
        "mb_max": extreme("mb_max", max), "mb_p95": pct("mb_p95", 95),
        "dm_n": sum(p.dm_n for p in parts),
        "dm_p5": quantiles[0], "dm_p50": quantiles[1], "dm_p95": quantiles[2],
        "dm_p99": quantiles[3], "dm_max": extreme("dm_max", max),
        "burst_p95": _r(weighted_mean(burst)),
    }


_SERIES = "SELECT id, host, vm_id, vm_name FROM series WHERE host = ?"
_INSERT = (f"INSERT OR REPLACE INTO rollups (series, res, bucket, {', '.join(STAT_COLUMNS)})"
           f" VALUES ({', '.join('?' * (len(STAT_COLUMNS) + 3))})")


class RollupMixin(StoreBase):
    """Computing (`roll_up`) and reading (`rollups`, `balancer_rollups`) the aggregates."""

    def _marks(self, host: str) -> dict[int, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT res, done_until FROM rollup_marks WHERE host = ?", (host,)).fetchall()
        return {int(r): int(d) for r, d in rows}

    def _oldest_raw(self, host: str) -> int | None:
        value = self.scalar("SELECT min((SELECT min(ts) FROM samples WHERE series = r.id))"
                            " FROM series r WHERE host = ?", (host,))
        first_balancer = self.scalar("SELECT min(ts) FROM balancer_samples WHERE host = ?",
                                     (host,))
        found = [int(value)] if value is not None else []
        found += [epoch(str(first_balancer))] if first_balancer is not None else []
        return min(found) if found else None

    def _series_of(self, host: str) -> dict[int, tuple[str | None, str]]:
        with self._lock:
            rows = self._conn.execute(_SERIES, (host,)).fetchall()
        return {int(i): (vm_id, name) for i, _, vm_id, name in rows}

    def _raw_hours(self, host: str, start: int, end: int) -> tuple[list[tuple[Any, ...]],
                                                                    list[tuple[Any, ...]]]:
        """Hourly (series, bucket, *stats) and balancer rows from raw samples in [start, end)."""
        with self._lock:
            raw = self._conn.execute(
                "SELECT series, ts, average_pressure, current_pressure, physical_mb FROM samples"
                " WHERE series IN (SELECT id FROM series WHERE host = ?) AND ts >= ? AND ts < ?"
                " ORDER BY series, ts", (host, start, end)).fetchall()
            balancer = self._conn.execute(
                "SELECT ts, available_mb, average_pressure FROM balancer_samples"
                " WHERE host = ? AND ts >= ? AND ts < ?",
                (host, from_epoch(start), from_epoch(end))).fetchall()
        rows = []
        for (series, bucket), group in itertools.groupby(
                raw, key=lambda r: (r[0], r[1] // HOUR * HOUR)):
            stats = stats_of([(t, ap, cp, mb) for _, t, ap, cp, mb in group])
            rows.append((series, bucket, *(stats[c] for c in STAT_COLUMNS)))
        by_hour: dict[int, list[tuple[int | None, int | None]]] = defaultdict(list)
        for ts, available, pressure in balancer:
            by_hour[epoch(ts) // HOUR * HOUR].append((available, pressure))
        return rows, [(b, *_balancer_stats(v)) for b, v in sorted(by_hour.items())]

    def roll_up(self, host: str, newest: int | None = None) -> int:
        """Roll up the buckets of `host` that closed by `newest` (epoch s); returns rows written.

        Each day of raw samples is its own short transaction, so a store
        upgraded with months of raw history catches up without one huge one.
        """
        if newest is None:
            newest = self._newest_epoch(host)
            if newest is None:
                return 0
        marks = self._marks(host)
        written = 0
        hour_end = newest // HOUR * HOUR
        start = marks.get(HOUR) or None
        if start is None:
            oldest = self._oldest_raw(host)
            start = hour_end if oldest is None else oldest // HOUR * HOUR
            with self._tx(durable=False) as conn:  # the host is known from now on
                _mark(conn, host, HOUR, start)
        while start < hour_end:
            stop = min(hour_end, (start // _CHUNK_S + 1) * _CHUNK_S)
            rows, balancer = self._raw_hours(host, start, stop)
            with self._tx(durable=False) as conn:
                conn.executemany(_INSERT, [(s, HOUR, b, *st) for s, b, *st in rows])
                conn.executemany(
                    "INSERT OR REPLACE INTO balancer_rollups (host, res, bucket, n, av_min,"
                    " av_mean, av_max, ap_mean) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(host, HOUR, *b) for b in balancer])
                _mark(conn, host, HOUR, stop)
            written += len(rows) + len(balancer)
            start = stop
        written += self._roll_days(host, hour_end, marks.get(DAY))
        return written

    def _roll_days(self, host: str, hour_mark: int, day_mark: int | None) -> int:
        # Hosts share a clock, so every day closes for all of them in the same collect;
        # each host rolls its day up some hours later (0..23, by name) to spread the work.
        # Readers merge the hourly rows of days not rolled up yet, so nothing is missing.
        day_end = (hour_mark - _stagger(host)) // DAY * DAY
        if day_mark is None:
            first = self.scalar("SELECT min(bucket) FROM rollups WHERE res = ? AND series IN"
                                " (SELECT id FROM series WHERE host = ?)", (HOUR, host))
            first_b = self.scalar("SELECT min(bucket) FROM balancer_rollups WHERE host = ?"
                                  " AND res = ?", (host, HOUR))
            starts = [int(v) for v in (first, first_b) if v is not None]
            day_mark = min(starts) // DAY * DAY if starts else day_end
        if day_mark >= day_end:
            return 0
        hours = self._stored(host, HOUR, day_mark, day_end)
        days: dict[tuple[int, int], list[RollupRow]] = defaultdict(list)
        for series, row in hours:
            days[(series, epoch(row.bucket) // DAY * DAY)].append(row)
        rows = []
        for (sid, bucket), parts in sorted(days.items()):
            merged = merge_stats(parts)
            rows.append((sid, DAY, bucket, *(merged[c] for c in STAT_COLUMNS)))
        balancer: dict[int, list[BalancerRollupRow]] = defaultdict(list)
        for b in self.balancer_rollups(host, HOUR, from_epoch(day_mark), tail=False):
            if epoch(b.bucket) < day_end:
                balancer[epoch(b.bucket) // DAY * DAY].append(b)
        with self._tx(durable=False) as conn:
            conn.executemany(_INSERT, rows)
            conn.executemany(
                "INSERT OR REPLACE INTO balancer_rollups (host, res, bucket, n, av_min, av_mean,"
                " av_max, ap_mean) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(host, DAY, b, *_merge_balancer(parts)) for b, parts in sorted(balancer.items())])
            _mark(conn, host, DAY, day_end)
        return len(rows) + len(balancer)

    def _stored(self, host: str, res: int, start: int, end: int | None = None,
                vm_id: str | None = None) -> list[tuple[int, RollupRow]]:
        sql = ("SELECT r.series, s.host, s.vm_id, s.vm_name, r.res, r.bucket,"
               f" {', '.join('r.' + c for c in STAT_COLUMNS)} FROM rollups r"
               " JOIN series s ON s.id = r.series"
               " WHERE r.series IN (SELECT id FROM series WHERE host = ?"
               + (" AND upper(vm_id) = upper(?)" if vm_id else "") +
               ") AND r.res = ? AND r.bucket >= ?" + (" AND r.bucket < ?" if end else "")
               + " ORDER BY r.series, r.bucket")
        args: list[Any] = [host, *([vm_id] if vm_id else []), res, start,
                           *([end] if end else [])]
        with self._lock:
            raw = self._conn.execute(sql, args).fetchall()
        return [(int(r[0]), RollupRow(host=r[1], vm_id=r[2], vm_name=r[3], res=r[4],
                                      bucket=from_epoch(r[5]),
                                      **dict(zip(STAT_COLUMNS, r[6:], strict=True))))
                for r in raw]

    def rollups(self, host: str, res: int, since: str | None = None,
                vm_id: str | None = None) -> list[RollupRow]:
        """One host's hourly (res=3600) or daily (86400) rows from `since` on, oldest first
        per VM, including the still-open buckets up to the newest sample."""
        start = 0 if since is None else epoch(since) // res * res
        marks = self._marks(host)
        stored = self._stored(host, res, start, vm_id=vm_id)
        hour_mark = marks.get(HOUR, 0)
        tail_hours: list[tuple[int, RollupRow]] = []
        if res == DAY:
            day_mark = max(start, marks.get(DAY, 0))
            tail_hours = [(s, r) for s, r in self._stored(host, HOUR, day_mark, vm_id=vm_id)
                          if epoch(r.bucket) < hour_mark]
        names = self._series_of(host)
        raw_rows, _ = self._raw_hours(host, max(start, hour_mark), FOREVER)
        for series, bucket, *stats in raw_rows:
            vm, name = names[series]
            if vm_id is None or (vm or "").upper() == vm_id.upper():
                tail_hours.append((series, RollupRow(host=host, vm_id=vm, vm_name=name,
                                                     res=HOUR, bucket=from_epoch(bucket),
                                                     **dict(zip(STAT_COLUMNS, stats,
                                                                strict=True)))))
        if res == DAY:
            grouped: dict[tuple[int, int], list[RollupRow]] = defaultdict(list)
            for series, row in tail_hours:
                grouped[(series, epoch(row.bucket) // DAY * DAY)].append(row)
            tail = [(s, RollupRow(host=host, vm_id=parts[0].vm_id, vm_name=parts[0].vm_name,
                                  res=DAY, bucket=from_epoch(b), **merge_stats(parts)))  # type: ignore[arg-type]
                    for (s, b), parts in grouped.items()]
        else:
            tail = tail_hours
        rows = sorted(stored + tail, key=lambda sr: (sr[0], sr[1].bucket))
        return [r for _, r in rows]

    def balancer_rollups(self, host: str, res: int, since: str | None = None,
                         *, tail: bool = True) -> list[BalancerRollupRow]:
        start = 0 if since is None else epoch(since) // res * res
        with self._lock:
            raw = self._conn.execute(
                "SELECT bucket, n, av_min, av_mean, av_max, ap_mean FROM balancer_rollups"
                " WHERE host = ? AND res = ? AND bucket >= ? ORDER BY bucket",
                (host, res, start)).fetchall()
        rows = [BalancerRollupRow(host=host, res=res, bucket=from_epoch(b), n=n, av_min=a,
                                  av_mean=m, av_max=x, ap_mean=p) for b, n, a, m, x, p in raw]
        if not tail:
            return rows
        marks = self._marks(host)
        from_ts = max(start, marks.get(res, 0))
        _, hours = self._raw_hours(host, max(from_ts, marks.get(HOUR, 0)), FOREVER)
        if res == HOUR:
            return rows + [BalancerRollupRow(host=host, res=HOUR, bucket=from_epoch(b), n=n,
                                             av_min=a, av_mean=m, av_max=x, ap_mean=p)
                           for b, n, a, m, x, p in hours]
        parts = [r for r in self.balancer_rollups(host, HOUR, from_epoch(from_ts), tail=False)
                 if epoch(r.bucket) < marks.get(HOUR, 0)]
        parts += [BalancerRollupRow(host=host, res=HOUR, bucket=from_epoch(b), n=n, av_min=a,
                                    av_mean=m, av_max=x, ap_mean=p) for b, n, a, m, x, p in hours]
        days: dict[int, list[BalancerRollupRow]] = defaultdict(list)
        for part in parts:
            days[epoch(part.bucket) // DAY * DAY].append(part)
        for day, group in sorted(days.items()):
            n, a, m, x, p = _merge_balancer(group)
            rows.append(BalancerRollupRow(host=host, res=DAY, bucket=from_epoch(day), n=n,
                                          av_min=a, av_mean=m, av_max=x, ap_mean=p))
        return rows

    def _newest_epoch(self, host: str) -> int | None:
        """The host's newest sample time (epoch s): 'now' on that host's clock."""
        vm = self.scalar("SELECT max((SELECT max(ts) FROM samples WHERE series = r.id))"
                         " FROM series r WHERE host = ?", (host,))
        balancer = self.scalar("SELECT max(ts) FROM balancer_samples WHERE host = ?", (host,))
        found = [int(vm)] if vm is not None else []
        found += [epoch(str(balancer))] if balancer is not None else []
        return max(found) if found else None


def _stagger(host: str) -> int:
    """0..23 hours: when after midnight (host clock) this host rolls up the day before."""
    return zlib.crc32(host.encode("utf-8")) % 24 * HOUR


def _mark(conn: Any, host: str, res: int, until: int) -> None:
    conn.execute("INSERT INTO rollup_marks (host, res, done_until) VALUES (?, ?, ?)"
                 " ON CONFLICT (host, res) DO UPDATE SET done_until = excluded.done_until",
                 (host, res, until))


def _balancer_stats(values: Iterable[tuple[int | None, int | None]]
                    ) -> tuple[int, int | None, int | None, int | None, int | None]:
    pairs = list(values)
    available = [a for a, _ in pairs if a is not None]
    pressure = [p for _, p in pairs if p is not None]
    return (len(pairs), min(available, default=None),
            _r(statistics.fmean(available)) if available else None,
            max(available, default=None), _r(statistics.fmean(pressure)) if pressure else None)


def _merge_balancer(parts: Sequence[BalancerRollupRow]
                    ) -> tuple[int, int | None, int | None, int | None, int | None]:
    lows = [p.av_min for p in parts if p.av_min is not None]
    highs = [p.av_max for p in parts if p.av_max is not None]
    return (sum(p.n for p in parts), min(lows, default=None),
            _r(weighted_mean([(float(p.av_mean), p.n) for p in parts if p.av_mean is not None])),
            max(highs, default=None),
            _r(weighted_mean([(float(p.ap_mean), p.n) for p in parts if p.ap_mean is not None])))
