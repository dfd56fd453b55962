"""History of a fleet's Dynamic Memory: the SQLite store in the state dir.

Parts: `db` (opening, permissions, transactions), `schema` (migrations),
`rows` (what queries return), `runs` (runs, journal, guests, audits),
`write` (collect's write path), `rollups` (hourly/daily aggregates),
`queries` (reading), `retention` (ageing out), `resolution` (which of raw,
hourly or daily a window is read from), `store` (the `Store` class),
`source` (the SQLite store or a Prometheus server, for the commands that
only read history), `prometheus_source` (reading a Prometheus server's HTTP
API as store rows), `metric_names` (the series names, both ways), `stats`
(percentiles). Writing samples out as CSV or JSON is an output format:
`hvdyn.formats.samples_export`.
"""

from __future__ import annotations

from hvdyn.history.retention import Retention
from hvdyn.history.store import (
    BALANCER_COUNTER_COLUMNS,
    DB_NAME,
    VM_COUNTER_COLUMNS,
    Store,
    open_store,
    parse_duration,
    store_path,
    window_start,
)

__all__ = ["BALANCER_COUNTER_COLUMNS", "DB_NAME", "VM_COUNTER_COLUMNS",
           "Retention", "Store", "open_store", "parse_duration", "store_path", "window_start"]
