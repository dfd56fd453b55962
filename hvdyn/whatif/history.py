"""Recorded demand: one host's stored counters as arrays over a grid of sample times.

A VM's demand is what its guest has committed: pressure = demand / assigned
x 100, so demand = assigned x pressure / 100 in every sample where Dynamic
Memory was active (a static VM, or a guest without the DM driver, reports
pressure 0: its demand is unknown). A VM with no sample at a tick was not
running then (off, saved, restarting). Ticks further apart than
`GAP_FACTOR` sampling intervals leave a gap that is reported, not filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from hvdyn.core.model import GuestInfo, MemorySettings
from hvdyn.history import Store
from hvdyn.history.rows import epoch, format_ts, from_epoch, parse_ts
from hvdyn.history.source import HistorySource

if TYPE_CHECKING:
    from numpy.typing import NDArray


GAP_FACTOR = 2.5  # a step longer than this many median intervals is a gap


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    after: str  # last tick before the gap
    before: str  # first tick after it
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsChange:
    """A VM's settings from `ts` on (until its next change)."""

    ts: str
    settings: MemorySettings


@dataclass(slots=True, kw_only=True)
class HostHistory:
    """One host's window of history, VMs as rows and ticks as columns."""

    host: str
    ticks: list[str]
    vm_ids: list[str]
    vm_names: list[str]
    assigned: NDArray[np.int64]  # recorded PhysicalMemory, MB; 0 where not running
    pressure: NDArray[np.float64]  # recorded CurrentPressure; nan where not running
    running: NDArray[np.bool_]
    pool_mb: NDArray[np.int64]  # memory the balancer shares at each tick
    pool_measured: bool  # from the balancer's Available Memory (else total - reserve)
    total_mb: int
    interval_s: float
    gaps: list[Gap] = field(default_factory=list)
    settings: dict[str, list[SettingsChange]] = field(default_factory=dict)
    guests: dict[str, GuestInfo] = field(default_factory=dict)

    @property
    def demand_known(self) -> NDArray[np.bool_]:
        """Cells where the record gives the guest's demand (DM active: pressure > 0)."""
        return self.running & (np.nan_to_num(self.pressure) > 0)

    @property
    def demand(self) -> NDArray[np.float64]:
        """Recorded demand in MB; nan where unknown."""
        return np.where(self.demand_known, self.assigned * self.pressure / 100.0, np.nan)

    def restarts(self, row: int) -> int:
        """Times the VM stopped and ran again within the window."""
        runs = self.running[row].astype(np.int8)
        return int(np.count_nonzero(np.diff(runs) == 1))


def _grid(ticks: list[str]) -> tuple[float, list[Gap]]:
    if len(ticks) < 2:
        return 0.0, []
    seconds = np.array([parse_ts(t).timestamp() for t in ticks])
    steps = np.diff(seconds)
    interval = float(np.median(steps))
    gaps = [
        Gap(after=ticks[i], before=ticks[i + 1], seconds=float(steps[i]))
        for i in np.nonzero(steps > GAP_FACTOR * interval)[0]
    ]
    return interval, gaps


def _settings(store: Store, host: str, start: str) -> dict[str, list[SettingsChange]]:
    """Each VM's settings changes in the window, the one in force at `start` first."""
    out: dict[str, list[SettingsChange]] = {}
    for row in store.settings_history(host, since=start):
        settings = MemorySettings(dynamic=bool(row.dynamic), startup_mb=row.startup_mb,
                                  minimum_mb=row.minimum_mb, maximum_mb=row.maximum_mb,
                                  buffer=row.buffer, weight=row.weight)
        changes = out.setdefault(row.vm_id.upper(), [])
        if not changes or changes[-1].settings != settings:
            changes.append(SettingsChange(ts=row.start, settings=settings))
    return out


def _pool(source: HistorySource, host: str, start: str, index: Mapping[str, int],
          assigned: NDArray[np.int64], total_mb: int, reserve_mb: int) -> tuple[
              NDArray[np.int64], bool]:
    """Memory for VMs at each tick: what they held plus the balancer's Available Memory.

    Ticks without a balancer sample take the median of the others; a host
    with none at all falls back to total RAM less the reserve.
    """
    available = np.full(len(index), -1, dtype=np.int64)
    for row in source.balancer_samples(host=host, since=start):
        column = index.get(row.ts)
        if column is not None and row.available_mb is not None:
            available[column] = row.available_mb
    held = assigned.sum(axis=0)
    measured = available >= 0
    if not measured.any():
        return np.full(len(index), max(0, total_mb - reserve_mb), dtype=np.int64), False
    pool = held + available
    pool[~measured] = int(np.median(pool[measured]))
    return pool, True


Columns = list[tuple[str, str, int, int | None, int | None]]  # vm_id, name, epoch, MB, %


def _columns(source: HistorySource, host: str, start: str) -> Columns:
    """The counters whatif reads: the store's columnar query, or any source's rows."""
    if isinstance(source, Store):
        return source.counter_columns(host, since=start)
    return [(s.vm_id, s.vm_name, epoch(s.ts), s.physical_mb, s.current_pressure)
            for s in source.samples(host=host, since=start, include_ambiguous=False)
            if s.vm_id is not None]


def _settings_of(source: HistorySource, host: str, start: str
                 ) -> dict[str, list[SettingsChange]]:
    """Settings as they changed (the store); a source without settings history (Prometheus)
    gives each VM's newest settings, held over the whole window."""
    if isinstance(source, Store):
        return _settings(source, host, start)
    return {row.vm_id.upper(): [SettingsChange(ts=start, settings=MemorySettings(
        dynamic=bool(row.dynamic), startup_mb=row.startup_mb, minimum_mb=row.minimum_mb,
        maximum_mb=row.maximum_mb, buffer=row.buffer, weight=row.weight))]
        for row in source.latest_vm_settings(host=host)}


def load_history(source: HistorySource, host: str, since: timedelta, reserve_mb: int
                 ) -> HostHistory | None:
    """The last `since` of a host's history (back from its newest sample); None without any."""
    newest = source.newest_ts(host)
    if newest is None:
        return None
    start = format_ts(parse_ts(newest) - since)
    rows = _columns(source, host, start)
    if not rows:
        return None
    ids, names_seen, stamps, physical, current = zip(*rows, strict=True)
    seconds = sorted(set(stamps))
    tick_of_second = {t: i for i, t in enumerate(seconds)}
    ticks = [from_epoch(t) for t in seconds]
    key_of = {v: str(v).upper() for v in set(ids)}  # a few dozen VMs, not a row each
    vm_ids = sorted(set(key_of.values()))
    vm_index = {v: vm_ids.index(key) for v, key in key_of.items()}
    newest_name = dict(zip(ids, names_seen, strict=True))  # the name each VM had last
    names = {key_of[v]: str(n) for v, n in newest_name.items()}
    tick_of = np.array([tick_of_second[t] for t in stamps], dtype=np.int64)
    vm_of = np.array([vm_index[v] for v in ids], dtype=np.int64)
    held = np.nan_to_num(np.array(physical, dtype=np.float64), nan=-1.0).astype(np.int64)
    level = np.nan_to_num(np.array(current, dtype=np.float64), nan=0.0)  # None -> nan -> 0
    live = held > 0  # a partition holding nothing is not running
    shape = (len(vm_ids), len(ticks))
    assigned = np.zeros(shape, dtype=np.int64)
    pressure = np.full(shape, np.nan)
    assigned[vm_of[live], tick_of[live]] = held[live]
    pressure[vm_of[live], tick_of[live]] = level[live]
    memory = source.host_memory(host=host)
    total_mb = memory[-1].total_mb if memory else 0
    tick_index = {t: i for i, t in enumerate(ticks)}
    pool, measured = _pool(source, host, start, tick_index, assigned, total_mb, reserve_mb)
    interval, gaps = _grid(ticks)
    guests = source.recall_guests(host) if isinstance(source, Store) else {}
    return HostHistory(
        host=host, ticks=ticks, vm_ids=vm_ids, vm_names=[names[v] for v in vm_ids],
        assigned=assigned, pressure=pressure, running=assigned > 0, pool_mb=pool,
        pool_measured=measured, total_mb=total_mb, interval_s=interval, gaps=gaps,
        settings=_settings_of(source, host, start),
        guests={vm_id: guest for vm_id, (guest, _) in guests.items()},
    )
