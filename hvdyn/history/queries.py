"""Reading history: samples (listed or streamed), balancer and host rows, settings.

Every query is bounded by an index: samples by (series, ts) with a host's
series found through `series(host, ...)`; balancer/host rows by (host, ts);
settings by (host, vm_id, ts). No query reads another host's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hvdyn.history.rows import (
    BalancerRow,
    HostMemoryRow,
    SampleRow,
    SettingsInterval,
    VmSettingsRow,
    epoch,
    from_epoch,
)
from hvdyn.history.write import COUNTERS, WriteMixin

_SAMPLE_SELECT = (
    "SELECT s.host, s.vm_id, s.vm_name, strftime('%Y-%m-%dT%H:%M:%SZ', x.ts, 'unixepoch') AS ts,"
    f" {', '.join('x.' + c for c in COUNTERS)}, ifnull(x.extra, '{{}}') AS extra,"
    " s.ambiguous, x.run_id FROM samples x JOIN series s ON s.id = x.series")


_BRIEF_SELECT = (
    "SELECT s.host, s.vm_id, s.vm_name, strftime('%Y-%m-%dT%H:%M:%SZ', x.ts, 'unixepoch') AS ts,"
    " x.physical_mb, x.current_pressure, x.average_pressure, s.ambiguous, x.run_id"
    " FROM samples x JOIN series s ON s.id = x.series")


def _sample_sql(host: str | None, vm_id: str | None, since: str | None,
                include_ambiguous: bool, order: str, select: str = _SAMPLE_SELECT
                ) -> tuple[str, list[Any]]:
    inner: list[str] = []
    args: list[Any] = []
    if host is not None:
        inner.append("host = ?")
        args.append(host)
    if vm_id is not None:
        inner.append("upper(vm_id) = upper(?)")
        args.append(vm_id)
    if not include_ambiguous:
        inner.append("ambiguous = 0")
    where = []
    if inner:
        where.append(f"x.series IN (SELECT id FROM series WHERE {' AND '.join(inner)})")
    if since is not None:
        where.append("x.ts >= ?")
        args.append(epoch(since))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"{select}{clause} ORDER BY {order}", args


def _filters(*, host: str | None = None, since: str | None = None
             ) -> tuple[str, list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if host is not None:
        where.append("host = ?")
        args.append(host)
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    return (f"WHERE {' AND '.join(where)}" if where else ""), args


class QueryMixin(WriteMixin):
    """The read side of the store."""

    def samples(
        self,
        *,
        host: str | None = None,
        vm_id: str | None = None,
        since: str | None = None,
        include_ambiguous: bool = True,
    ) -> list[SampleRow]:
        """Raw VM samples, by host, time and instance name (a list: see `iter_samples`)."""
        sql, args = _sample_sql(host, vm_id, since, include_ambiguous,
                                "s.host, x.ts, s.vm_name, x.dup")
        return self._query(SampleRow, sql, args)

    def brief_samples(self, *, host: str, since: str | None = None,
                      include_ambiguous: bool = True) -> list[SampleRow]:
        """`samples` with only assigned memory, current and average pressure filled in
        (the other counters None): what health, advice and charts read, at a third
        of the cost."""
        sql, args = _sample_sql(host, None, since, include_ambiguous,
                                "s.host, x.ts, s.vm_name, x.dup", _BRIEF_SELECT)
        return self._query(SampleRow, sql, args)

    def counter_columns(self, host: str, since: str | None = None
                        ) -> list[tuple[str, str, int, int | None, int | None]]:
        """(vm_id, vm_name, epoch ts, physical_mb, current_pressure) of a host's attributable
        samples, per VM oldest first: plain tuples for readers of millions of samples
        (what-if), a range read per series."""
        return self.rows(
            "SELECT s.vm_id, s.vm_name, x.ts, x.physical_mb, x.current_pressure"
            " FROM series s JOIN samples x ON x.series = s.id"
            " WHERE s.host = ? AND s.ambiguous = 0 AND s.vm_id IS NOT NULL AND x.ts >= ?"
            " ORDER BY s.id, x.ts",
            (host, 0 if since is None else epoch(since)),
        )

    def iter_samples(
        self,
        *,
        host: str | None = None,
        since: str | None = None,
        include_ambiguous: bool = True,
    ) -> Iterator[SampleRow]:
        """Raw VM samples of a host in constant memory: per counter instance, oldest first."""
        sql, args = _sample_sql(host, None, since, include_ambiguous, "x.series, x.ts, x.dup")
        return self._stream(SampleRow, sql, args)

    def balancer_samples(
        self, *, host: str | None = None, since: str | None = None
    ) -> list[BalancerRow]:
        clause, args = _filters(host=host, since=since)
        return self._query(BalancerRow, f"SELECT * FROM balancer_samples {clause} ORDER BY ts",
                           args)

    def host_memory(
        self, *, host: str | None = None, since: str | None = None
    ) -> list[HostMemoryRow]:
        clause, args = _filters(host=host, since=since)
        return self._query(HostMemoryRow, f"SELECT * FROM host_memory {clause} ORDER BY ts", args)

    def latest_vm_settings(self, *, host: str | None = None) -> list[VmSettingsRow]:
        """The newest settings row of every VM (optionally of one host)."""
        clause, args = _filters(host=host)
        return self._query(
            VmSettingsRow,
            f"SELECT * FROM vm_settings v {clause} {'AND' if clause else 'WHERE'}"
            " id = (SELECT max(id) FROM vm_settings WHERE host = v.host AND vm_id = v.vm_id)"
            " ORDER BY host, vm_name",
            args,
        )

    def settings_history(self, host: str, since: str | None = None,
                         until: str | None = None) -> list[SettingsInterval]:
        """Each VM's settings over [since, until]: one row per interval between changes.

        The interval in effect at `since` is included (its `start` may lie
        before `since`); `end` is the time of the next change, None for the
        newest. Ordered by VM, then time: step lines of startup/maximum.
        """
        args: list[Any] = [host]
        upper = ""
        if until is not None:
            upper = " AND ts <= ?"
            args.append(until)
        rows = self._query(VmSettingsRow, "SELECT * FROM vm_settings WHERE host = ?"
                           f"{upper} ORDER BY vm_id, ts, id", args)
        out: list[SettingsInterval] = []
        for index, row in enumerate(rows):
            following = rows[index + 1] if index + 1 < len(rows) else None
            end = following.ts if following is not None and following.vm_id == row.vm_id \
                else None
            if since is not None and end is not None and end <= since:
                continue
            out.append(SettingsInterval(
                host=row.host, vm_id=row.vm_id, vm_name=row.vm_name, start=row.ts, end=end,
                state=row.state, dynamic=bool(row.dynamic), startup_mb=row.startup_mb,
                minimum_mb=row.minimum_mb, maximum_mb=row.maximum_mb, buffer=row.buffer,
                weight=row.weight, os=row.os, arch=row.arch))
        return out

    def sample_hosts(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT host FROM series UNION SELECT host FROM rollup_marks ORDER BY 1"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def newest_ts(self, host: str) -> str | None:
        """The host's newest sample time: 'now' on that host's clock."""
        newest = self._newest_epoch(host)
        return None if newest is None else from_epoch(newest)

    def oldest_ts(self, host: str) -> str | None:
        """The host's oldest sample or rollup bucket: how far back its history reaches."""
        found = [v for v in (self._oldest_raw(host), self.scalar(
            "SELECT min(bucket) FROM balancer_rollups WHERE host = ?", (host,)))
            if v is not None]
        return from_epoch(min(int(v) for v in found)) if found else None
