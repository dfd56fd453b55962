"""Compatibility: the store's rows moved to `hvdyn.history.rows`; import from there."""

from __future__ import annotations

from hvdyn.history.rows import (
    TS_FORMAT,
    AuditRow,
    BalancerRollupRow,
    BalancerRow,
    HostMemoryRow,
    JournalRow,
    RollupRow,
    RunRow,
    SampleRow,
    SettingsInterval,
    VmSettingsRow,
    format_ts,
    normalise_ts,
    now_ts,
    parse_ts,
)

__all__ = ["TS_FORMAT", "AuditRow", "BalancerRollupRow", "BalancerRow", "HostMemoryRow",
           "JournalRow", "RollupRow", "RunRow", "SampleRow", "SettingsInterval",
           "VmSettingsRow", "format_ts", "normalise_ts", "now_ts", "parse_ts"]
