"""The policy file's schema: pydantic models and the value parsers behind them.

Each parser raises `PydanticCustomError("hvdyn", ...)` with the message and
the allowed form, which `hvdyn.policy.errors` turns into FILE:LINE:COL errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from hvdyn.core.model import (
    BUFFER_RANGE,
    MAX_VM_MEMORY_MB,
    WEIGHT_RANGE,
    SettingName,
    VmState,
    format_mb,
    parse_size_mb,
)
from hvdyn.core.vocab import Restart

MIN_VM_MEMORY_MB = 32
MAX_HOST_RESERVE_MB = 1024 * 1024  # 2008 R2 SP1 Datacenter supports 1 TB
DEFAULT_HOST_RESERVE_MB = 2048
# The VM states `match: state:` can name, in the order error messages list them.
MATCH_STATES = (VmState.RUNNING, VmState.OFF, VmState.SAVED, VmState.PAUSED)
_STATE_BY_LABEL = {state.label: state for state in MATCH_STATES}
_RESTART_VALUES = tuple(Restart)
# policy `set` key -> model.FIELDS name
SET_FIELDS: dict[str, SettingName] = {
    "dynamic": "dynamic",
    "startup": "startup_mb",
    "maximum": "maximum_mb",
    "buffer": "buffer",
    "weight": "weight",
}

_SIZE_FORM = (
    "a whole, even number of MB with a unit (MB, GB, TB or MiB, GiB, TiB), e.g. 512MB, 1.5GB"
)
_GUID_GLOB_RE = re.compile(r"^[{]?[0-9A-Fa-f*?\[\]!-]+[}]?$")


# ---------------------------------------------------------------- value parsing


def _fail(message: str, allowed: str = "", index: int | None = None) -> PydanticCustomError:
    """A validation error carrying our message, allowed form and list index (if any)."""
    ctx = {"message": message, "allowed": allowed, "index": index}
    return PydanticCustomError("hvdyn", "{message}", ctx)


def _size(value: Any, *, lo: int, hi: int, even: bool, form: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(f"expected a size, got {show_value(value)}", form)
    if not isinstance(value, str):
        raise _fail(f"size {value!r} has no unit", form)
    try:
        mb = parse_size_mb(value)
    except ValueError as exc:
        raise _fail(str(exc), form) from None
    if even and mb % 2:
        raise _fail(f"{value!r} is {mb}MB, an odd number of MB", form)
    if not lo <= mb <= hi:
        raise _fail(f"{value!r} is out of range", f"{format_mb(lo)}..{format_mb(hi)}")
    return mb


def _vm_size(value: Any) -> int:
    return _size(value, lo=MIN_VM_MEMORY_MB, hi=MAX_VM_MEMORY_MB, even=True, form=_SIZE_FORM)


def _host_size(value: Any) -> int:
    form = "a whole number of MB with a unit, e.g. 2GB"
    return _size(value, lo=0, hi=MAX_HOST_RESERVE_MB, even=False, form=form)


def _int_range(lo: int, hi: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"expected a whole number, got {show_value(value)}", f"{lo}..{hi}")
        if not lo <= value <= hi:
            raise _fail(f"{value} is out of range", f"{lo}..{hi}")
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(f"expected true or false, got {show_value(value)}", "true, false")
    return value


def _overcommit(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(
            f"expected a number, got {show_value(value)}", "a number > 0 and <= 100, e.g. 1.5"
        )
    if not 0 < value <= 100:
        raise _fail(f"{value} is out of range", "a number > 0 and <= 100, e.g. 1.5")
    return float(value)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise _fail(
            f"expected a {what} or a non-empty list of them, got {show_value(value)}",
            f"a quoted {what} or a list of them",
        )
    return tuple(items)


def _globs(value: Any) -> tuple[str, ...]:
    return _strings(value, "glob")


def _guid_globs(value: Any) -> tuple[str, ...]:
    items = _strings(value, "GUID or GUID glob")
    for i, item in enumerate(items):
        if not _GUID_GLOB_RE.match(item):
            index = i if isinstance(value, list) else None
            raise _fail(
                f"{item!r} is not a GUID or GUID glob", "e.g. 3F2504E0-4F89-11D3-9A0C-*", index
            )
    return items


def _states(value: Any) -> tuple[VmState, ...]:
    items = _strings(value, "state")
    out: list[VmState] = []
    for i, raw in enumerate(items):
        state = _STATE_BY_LABEL.get(raw.lower())
        if state is None:
            index = i if isinstance(value, list) else None
            raise _fail(f"unknown state {raw!r}", ", ".join(_STATE_BY_LABEL), index)
        out.append(state)
    return tuple(out)


def _restart(value: Any) -> Restart:
    if value not in _RESTART_VALUES:
        raise _fail(
            f"expected {' or '.join(_RESTART_VALUES)}, got {show_value(value)}",
            ", ".join(_RESTART_VALUES),
        )
    return Restart(value)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"expected a non-empty name, got {show_value(value)}", "a string")
    return value


def _version(value: Any) -> int:
    if isinstance(value, bool) or value != 1:
        raise _fail(f"unsupported version {show_value(value)}", "1")
    return 1


def _inventory(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise _fail(
            f"expected a path, got {show_value(value)}", "a path relative to the policy file"
        )
    return value


def show_value(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


# ---------------------------------------------------------------- schema


def _v(fn: Callable[[Any], Any]) -> BeforeValidator:
    return BeforeValidator(fn)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SetModel(_Strict):
    dynamic: Annotated[bool | None, _v(_bool)] = None
    startup: Annotated[int | None, _v(_vm_size)] = None
    maximum: Annotated[int | None, _v(_vm_size)] = None
    buffer: Annotated[int | None, _v(_int_range(*BUFFER_RANGE))] = None
    weight: Annotated[int | None, _v(_int_range(*WEIGHT_RANGE))] = None


class MatchModel(_Strict):
    vm: Annotated[tuple[str, ...] | None, _v(_globs)] = None
    vm_id: Annotated[tuple[str, ...] | None, _v(_guid_globs)] = None
    host: Annotated[tuple[str, ...] | None, _v(_globs)] = None
    group: Annotated[tuple[str, ...] | None, _v(_globs)] = None
    os: Annotated[tuple[str, ...] | None, _v(_globs)] = None
    state: Annotated[tuple[VmState, ...] | None, _v(_states)] = None


class RuleModel(_Strict):
    name: Annotated[str, _v(_name)]
    match: MatchModel
    set: SetModel
    restart: Annotated[Restart | None, _v(_restart)] = None


class HostModel(_Strict):
    reserve: Annotated[int | None, _v(_host_size)] = None
    max_overcommit: Annotated[float | None, _v(_overcommit)] = None


class PolicyModel(_Strict):
    version: Annotated[int, _v(_version)]
    inventory: Annotated[str | None, _v(_inventory)] = None
    defaults: SetModel = SetModel()
    host: HostModel = HostModel()
    rules: list[RuleModel] = []
    exclude: list[MatchModel] = []


def _keys(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields)


# generic key path (list indexes as "*") -> allowed keys, for "unknown key" errors
ALLOWED_KEYS: dict[tuple[str, ...], str] = {
    (): _keys(PolicyModel),
    ("defaults",): _keys(SetModel),
    ("host",): _keys(HostModel),
    ("rules", "*"): _keys(RuleModel),
    ("rules", "*", "set"): _keys(SetModel),
    ("rules", "*", "match"): _keys(MatchModel),
    ("exclude", "*"): _keys(MatchModel),
}
