"""The HVDYN1 records every script prints, typed, and how one is written.

Wire format (a contract with the templates and `hvdyn.sim`): one record per line,
``HVDYN1 <json object>``, JSON in ASCII only (non-ASCII as ``\\uXXXX``).
The first record is ``{"t":"begin","script":NAME}``; the last is
``{"t":"end","records":N}`` where N counts every record before it, so a
truncated stream is detected. Lines without the prefix are ignored by the
parser (`hvdyn.powershell.record_parser`) but kept for diagnostics.

Record types (``t``):

- ``begin``   script (str), ps (str|null: $PSVersionTable version)
- ``host``    name, os, os_version, ps_version, total_mb, free_mb, reserve_mb (int|null)
- ``vm``      id, name, state (EnabledState int), dynamic, startup_mb, minimum_mb,
              maximum_mb, buffer, weight, os, os_version, arch ("x64"|"x86"|null),
              ic_version, heartbeat (int|null), clustered (bool)
- ``result``  id, outcome (applied|unchanged|conflict|pending|failed), code (int|null),
              message (str|null), state (int), restarted (bool),
              settings (object with the six FIELDS, or null when unreadable)
- ``sample``  name (counter instance), ids ([GUID]), ts (str), counters {prop: int|null}
- ``balancer`` name, ts, counters {prop: int|null}
- ``error``   id (GUID|null: null = the script as a whole), message, code (int|null)
- ``warning`` message (str): the host answered, but something it was asked
              could not be read (e.g. the cluster check); shown with the plan
- ``ping``    ps_version (str|null), os (str|null), virtualization (bool: WMI
              root\\virtualization answers), delivery (str: the transport's mode, echoed)
- ``probe``   check (str), status ("ok"|"no"|"error"), value (str|null: one line
              for people), data (any JSON: the details); printed by `hvdyn probe`
- ``end``     records (int)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hvdyn.core.model import MemorySettings
from hvdyn.core.vocab import ProbeStatus, ResultOutcome

PREFIX = "HVDYN1 "
_T = TypeVar("_T")


def encode_record(record: Mapping[str, Any]) -> str:
    """One wire line for a record, exactly as the PowerShell JSON writer prints it."""
    return PREFIX + json.dumps(record, ensure_ascii=True, separators=(",", ":"))


def encode_stream(script: str, records: list[Mapping[str, Any]]) -> str:
    """A complete stream: begin, the records, end. Used by the mock transport."""
    body = [{"t": "begin", "script": script, "ps": "2.0"}, *records]
    lines = [encode_record(r) for r in body]
    lines.append(encode_record({"t": "end", "records": len(body)}))
    return "\r\n".join(lines) + "\r\n"


# ---------------------------------------------------------------- typed records


@dataclass(frozen=True, slots=True, kw_only=True)
class HostRecord:
    name: str
    total_mb: int
    free_mb: int
    reserve_mb: int | None
    os: str | None
    os_version: str | None
    ps_version: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class VmRecord:
    id: str
    name: str
    state: int
    settings: MemorySettings
    os: str | None
    os_version: str | None
    arch: str | None
    ic_version: str | None
    heartbeat: int | None
    clustered: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultRecord:
    id: str
    outcome: ResultOutcome
    code: int | None
    message: str | None
    state: int
    restarted: bool
    settings: MemorySettings | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleRecord:
    name: str
    ids: tuple[str, ...]
    ts: str
    counters: Mapping[str, int | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BalancerRecord:
    name: str
    ts: str
    counters: Mapping[str, int | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorRecord:
    id: str | None
    message: str
    code: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WarningRecord:
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeRecord:
    check: str
    status: ProbeStatus
    value: str | None
    data: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class PingRecord:
    ps_version: str | None
    os: str | None
    virtualization: bool
    delivery: str


Record = (
    HostRecord
    | VmRecord
    | ResultRecord
    | SampleRecord
    | BalancerRecord
    | ErrorRecord
    | WarningRecord
    | PingRecord
    | ProbeRecord
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedOutput:
    """Everything one script printed, typed; `other_lines` kept for diagnostics."""

    script: str
    ps_version: str | None
    records: tuple[Record, ...]
    other_lines: tuple[str, ...] = field(default=())

    def of_type(self, kind: type[_T]) -> list[_T]:
        return [r for r in self.records if isinstance(r, kind)]

    @property
    def script_errors(self) -> list[ErrorRecord]:
        return [r for r in self.of_type(ErrorRecord) if r.id is None]
