"""The strict parser of HVDYN1 streams (the records are in `hvdyn.powershell.records`).

Why strict: a host's output decides what the journal says was applied, so a
stream that is cut short, out of order, not ASCII or of an unknown shape is
refused as a whole with the host, the script and the line, never half-read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hvdyn.core.errors import ProtocolError
from hvdyn.core.model import MemorySettings
from hvdyn.core.vocab import ProbeStatus, ResultOutcome
from hvdyn.powershell.records import (
    PREFIX,
    BalancerRecord,
    ErrorRecord,
    HostRecord,
    ParsedOutput,
    PingRecord,
    ProbeRecord,
    Record,
    ResultRecord,
    SampleRecord,
    VmRecord,
    WarningRecord,
)

MAX_OUTPUT_CHARS = 64 * 1024 * 1024  # refuse to parse more than this
_OUTCOMES = frozenset(ResultOutcome)
_PROBE_STATUSES = frozenset(ProbeStatus)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _whole_chars(text: str) -> str:
    """Text with unpaired UTF-16 surrogates replaced by U+FFFD.

    Windows strings (a VM's display name) may hold an unpaired surrogate; the
    JSON writer passes it on as ``\\uD8xx`` and Python would keep it as a lone
    surrogate that no terminal, file or XML encoder accepts. VMs are addressed
    by GUID, so the name is only ever shown.
    """
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


class _Fields:
    """Typed access to one record's JSON object; errors name the record."""

    def __init__(self, obj: Mapping[str, Any], fail: Any) -> None:
        self.obj = obj
        self.fail = fail

    def _get(self, key: str, kinds: tuple[type, ...], nullable: bool) -> Any:
        if key not in self.obj:
            self.fail(f"record {self.obj.get('t')!r} lacks key {key!r}")
        value = self.obj[key]
        if value is None and nullable:
            return None
        # bool is an int subclass: keep them apart.
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            self.fail(f"record {self.obj.get('t')!r} key {key!r} has {type(value).__name__}")
        return value

    def text(self, key: str) -> str:
        return _whole_chars(self._get(key, (str,), False))

    def opt_text(self, key: str) -> str | None:
        value: str | None = self._get(key, (str,), True)
        return None if value is None else _whole_chars(value)

    def integer(self, key: str) -> int:
        value: int = self._get(key, (int,), False)
        return value

    def opt_integer(self, key: str) -> int | None:
        value: int | None = self._get(key, (int,), True)
        return value

    def flag(self, key: str) -> bool:
        value: bool = self._get(key, (bool,), False)
        return value

    def counters(self, key: str) -> dict[str, int | None]:
        raw = self._get(key, (dict,), False)
        out: dict[str, int | None] = {}
        for name, value in raw.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                self.fail(f"counter {name!r} is not an integer")
            out[str(name)] = value
        return out

    def settings(self, obj: Mapping[str, Any] | None = None) -> MemorySettings:
        f = self if obj is None else _Fields(obj, self.fail)
        return MemorySettings(
            dynamic=f.flag("dynamic"),
            startup_mb=f.integer("startup_mb"),
            minimum_mb=f.integer("minimum_mb"),
            maximum_mb=f.integer("maximum_mb"),
            buffer=f.integer("buffer"),
            weight=f.integer("weight"),
        )


def _typed(obj: Mapping[str, Any], fail: Any) -> Record | None:
    f = _Fields(obj, fail)
    kind = obj.get("t")
    if kind == "host":
        return HostRecord(
            name=f.text("name"),
            total_mb=f.integer("total_mb"),
            free_mb=f.integer("free_mb"),
            reserve_mb=f.opt_integer("reserve_mb"),
            os=f.opt_text("os"),
            os_version=f.opt_text("os_version"),
            ps_version=f.opt_text("ps_version"),
        )
    if kind == "vm":
        return VmRecord(
            id=f.text("id"),
            name=f.text("name"),
            state=f.integer("state"),
            settings=f.settings(),
            os=f.opt_text("os"),
            os_version=f.opt_text("os_version"),
            arch=f.opt_text("arch"),
            ic_version=f.opt_text("ic_version"),
            heartbeat=f.opt_integer("heartbeat"),
            clustered=f.flag("clustered"),
        )
    if kind == "result":
        outcome = f.text("outcome")
        if outcome not in _OUTCOMES:
            fail(f"result outcome {outcome!r} is not one of {', '.join(ResultOutcome)}")
        raw_settings = obj.get("settings")
        if raw_settings is not None and not isinstance(raw_settings, dict):
            fail("result settings is not an object")
        return ResultRecord(
            id=f.text("id"),
            outcome=ResultOutcome(outcome),
            code=f.opt_integer("code"),
            message=f.opt_text("message"),
            state=f.integer("state"),
            restarted=f.flag("restarted"),
            settings=None if raw_settings is None else f.settings(raw_settings),
        )
    if kind == "sample":
        ids = obj.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            fail("sample ids is not a list of strings")
            return None
        return SampleRecord(
            name=f.text("name"), ids=tuple(ids), ts=f.text("ts"), counters=f.counters("counters")
        )
    if kind == "balancer":
        return BalancerRecord(name=f.text("name"), ts=f.text("ts"), counters=f.counters("counters"))
    if kind == "error":
        return ErrorRecord(
            id=f.opt_text("id"), message=f.text("message"), code=f.opt_integer("code")
        )
    if kind == "probe":
        status = f.text("status")
        if status not in _PROBE_STATUSES:
            fail(f"probe status {status!r} is not one of {', '.join(ProbeStatus)}")
        if "data" not in obj:
            fail("record 'probe' lacks key 'data'")
        return ProbeRecord(
            check=f.text("check"),
            status=ProbeStatus(status),
            value=f.opt_text("value"),
            data=obj["data"],
        )
    if kind == "warning":
        return WarningRecord(message=f.text("message"))
    if kind == "ping":
        return PingRecord(
            ps_version=f.opt_text("ps_version"),
            os=f.opt_text("os"),
            virtualization=f.flag("virtualization"),
            delivery=f.text("delivery"),
        )
    fail(f"unknown record type {kind!r}")
    return None


def parse_stream(output: str, *, host: str, script: str) -> ParsedOutput:
    """Parse a script's stdout into typed records, or raise ProtocolError.

    Checks: every record line is ASCII JSON with a known type; the stream
    starts with ``begin`` for this script and ends with ``end`` whose count
    matches. Anything wrong names the host, the script and the line.
    """

    def fail(message: str, lineno: int | None = None) -> None:
        where = f" (output line {lineno})" if lineno is not None else ""
        raise ProtocolError(host, script, message + where)

    if len(output) > MAX_OUTPUT_CHARS:
        fail(f"output is {len(output)} characters, more than the {MAX_OUTPUT_CHARS} allowed")

    records: list[Record] = []
    other: list[str] = []
    begun = False
    ended = False
    ps_version: str | None = None
    count = 0
    for lineno, raw in enumerate(output.splitlines(), start=1):
        line = raw.strip("\r\n\ufeff ")
        if not line.startswith(PREFIX.rstrip()):
            if line:
                other.append(raw)
            continue
        if ended:
            fail("record after the end record", lineno)
        payload = line[len(PREFIX) :]
        if not payload.isascii():
            fail("record contains non-ASCII characters", lineno)
        try:
            obj = json.loads(payload)
        except json.JSONDecodeError as exc:
            fail(f"record is not valid JSON ({exc.msg} at column {exc.colno})", lineno)
        except (ValueError, RecursionError) as exc:
            # an integer past sys.get_int_max_str_digits(), or nesting past the recursion limit
            fail(f"record is not acceptable JSON ({type(exc).__name__})", lineno)
        if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
            fail("record is not a JSON object with a type 't'", lineno)

        def fail_here(message: str, _n: int = lineno) -> None:
            fail(message, _n)

        kind = obj["t"]
        if not begun:
            if kind != "begin":
                fail(f"first record is {kind!r}, expected 'begin'", lineno)
            if obj.get("script") != script:
                fail(f"stream is from script {obj.get('script')!r}", lineno)
            ps = obj.get("ps")
            ps_version = ps if isinstance(ps, str) else None
            begun = True
            count = 1
            continue
        if kind == "begin":
            fail("second begin record", lineno)
        if kind == "end":
            declared = obj.get("records")
            if declared != count:
                fail(f"end record counts {declared!r} records but {count} were received", lineno)
            ended = True
            continue
        record = _typed(obj, fail_here)
        if record is not None:
            records.append(record)
        count += 1

    if not begun:
        tail = " | ".join(other[-3:])[:300]
        fail("no HVDYN1 records in output" + (f"; last lines: {tail}" if tail else ""))
    if not ended:
        fail(f"output truncated: no end record after {count} records")
    return ParsedOutput(
        script=script, ps_version=ps_version, records=tuple(records), other_lines=tuple(other)
    )
