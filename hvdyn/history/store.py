"""The store: one class made of the parts in this package, and how to open it.

Timestamps are UTC ISO text ``YYYY-MM-DDTHH:MM:SSZ`` so they sort as text.
Sample times are the *host's* clock (simulated hosts run their own clock);
run and journal times are this machine's wall clock.

One `Store` may be shared by the per-host worker threads: a lock
serialises use of its single connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from hvdyn.history.db import DB_NAME
from hvdyn.history.queries import QueryMixin
from hvdyn.history.retention import RetentionMixin
from hvdyn.history.rows import format_ts, parse_ts
from hvdyn.history.runs import RunsMixin

__all__ = ["BALANCER_COUNTER_COLUMNS", "DB_NAME", "VM_COUNTER_COLUMNS",
           "Store", "open_store", "parse_duration", "store_path", "window_start"]

# WMI property of the "Hyper-V Dynamic Memory VM" counters -> samples column (docs/history.md).
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


class Store(RunsMixin, RetentionMixin, QueryMixin):
    """The state dir's database. Use `open_store(state_dir)`; close when done."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
