"""Rows the store returns, and the timestamp format it shows (see `hvdyn.history`).

Timestamps are UTC ISO text ``YYYY-MM-DDTHH:MM:SSZ`` so they sort as text
(counter samples are kept as epoch seconds inside the store and shown as
this text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hvdyn.core.errors import StoreError
from hvdyn.core.model import SettingName

TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now_ts() -> str:
    return datetime.now(UTC).strftime(TS_FORMAT)


def parse_ts(text: str) -> datetime:
    """Host timestamp text (ISO 8601, 'Z' or offset, or naive = UTC) -> aware datetime."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise StoreError(f"timestamp {text!r} is not ISO 8601") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TS_FORMAT)


def normalise_ts(text: str) -> str:
    return format_ts(parse_ts(text))


def epoch(text: str) -> int:
    """Timestamp text -> whole epoch seconds (how the store keeps sample times)."""
    return int(parse_ts(text).timestamp())


def from_epoch(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(TS_FORMAT)


# ---------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    id: int
    command: str
    started: str
    finished: str | None
    user: str | None
    policy_path: str | None
    policy_digest: str | None
    options: str
    outcome: str | None
    exit_code: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalRow:
    """One field of one VM in one run. Values (before/desired/after) are bool or int."""

    id: int
    run_id: int
    host: str
    vm_id: str
    vm_name: str
    field: SettingName  # written only from a plan's Change.field
    before: bool | int
    desired: bool | int
    after: bool | int | None
    outcome: str
    message: str | None
    state_before: int | None
    state_after: int | None
    created: str
    updated: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleRow:
    host: str
    vm_id: str | None  # None when the counter instance maps to no or several VMs
    vm_name: str
    ts: str
    physical_mb: int | None = None
    guest_visible_mb: int | None = None
    current_pressure: int | None = None
    average_pressure: int | None = None
    minimum_pressure: int | None = None
    maximum_pressure: int | None = None
    added_mb: int | None = None
    removed_mb: int | None = None
    add_ops: int | None = None
    remove_ops: int | None = None
    extra: str = "{}"  # JSON: counters this version does not know, and candidate ids
    ambiguous: bool = False
    run_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BalancerRow:
    host: str
    name: str
    ts: str
    available_mb: int | None = None
    average_pressure: int | None = None
    extra: str = "{}"
    run_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HostMemoryRow:
    host: str
    ts: str
    total_mb: int
    free_mb: int
    reserve_mb: int | None = None
    run_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VmSettingsRow:
    """A VM's settings as discovery saw them when samples were collected."""

    host: str
    vm_id: str
    vm_name: str
    ts: str
    state: int
    dynamic: bool
    startup_mb: int
    minimum_mb: int
    maximum_mb: int
    buffer: int
    weight: int
    os: str | None = None
    arch: str | None = None
    run_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRow:
    run_id: int
    host: str
    vm_id: str | None
    vm_name: str | None
    finding_id: str
    severity: str
    message: str
    remediation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsInterval:
    """A VM's settings over one interval: from the collect that saw them first to
    the next change (`end` None: still the newest). One row per change."""

    host: str
    vm_id: str
    vm_name: str
    start: str
    end: str | None
    state: int
    dynamic: bool
    startup_mb: int
    minimum_mb: int
    maximum_mb: int
    buffer: int
    weight: int
    os: str | None = None
    arch: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RollupRow:
    """One VM counter instance over one hour (`res` 3600) or day (86400).

    ap_* = Average Pressure (%), cp_* = Current Pressure (%), mb_* = assigned
    memory (PhysicalMemory, MB), dm_* = demand (Current Pressure x assigned / 100,
    MB; `dm_n` samples had both). p95/p99 and friends are nearest-rank
    percentiles of the bucket's samples; burst_p95 is the P95 rise of demand
    between consecutive samples, in tenths of a percent.
    """

    host: str
    vm_id: str | None
    vm_name: str
    res: int
    bucket: str  # start of the hour/day, UTC
    n: int
    ap_min: int | None = None
    ap_mean: int | None = None
    ap_max: int | None = None
    ap_p95: int | None = None
    cp_mean: int | None = None
    cp_max: int | None = None
    mb_min: int | None = None
    mb_mean: int | None = None
    mb_max: int | None = None
    mb_p95: int | None = None
    dm_n: int = 0
    dm_p5: int | None = None
    dm_p50: int | None = None
    dm_p95: int | None = None
    dm_p99: int | None = None
    dm_max: int | None = None
    burst_p95: int | None = None

    @property
    def ambiguous(self) -> bool:
        return self.vm_id is None


@dataclass(frozen=True, slots=True, kw_only=True)
class BalancerRollupRow:
    """The host's balancer Available Memory (MB) and Average Pressure over a bucket."""

    host: str
    res: int
    bucket: str
    n: int
    av_min: int | None = None
    av_mean: int | None = None
    av_max: int | None = None
    ap_mean: int | None = None
