"""Compatibility: the store moved to the `hvdyn.history` package; import from there."""

from __future__ import annotations

from hvdyn.history.store import (
    BALANCER_COUNTER_COLUMNS,
    DB_NAME,
    JOURNAL_OUTCOMES,
    VM_COUNTER_COLUMNS,
    Store,
    open_store,
    parse_duration,
    store_path,
    window_start,
)

__all__ = ["BALANCER_COUNTER_COLUMNS", "DB_NAME", "JOURNAL_OUTCOMES", "VM_COUNTER_COLUMNS",
           "Store", "open_store", "parse_duration", "store_path", "window_start"]
