"""Policy file -> `Policy`; per-VM rule evaluation with provenance (DESIGN §3).

Loading happens in two passes so that every user mistake comes back as
FILE:LINE:COL: pydantic checks shape and single values (positions come from
`yamlpos`), then cross-field checks (duplicate rule names, startup > maximum)
run on the validated model. Evaluation is plain Python over precompiled
regexes, because `resolve` runs once per VM in fleets of tens of thousands.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from hvdyn.errors import MultipleInputErrors, PolicyError
from hvdyn.model import (
    BUFFER_RANGE,
    MAX_VM_MEMORY_MB,
    WEIGHT_RANGE,
    Desired,
    DesiredValue,
    HostSpec,
    Provenance,
    VmFacts,
    format_mb,
    parse_size_mb,
)
from hvdyn.yamlpos import KeyPath, YamlDoc, key_str, parse_yaml

MIN_VM_MEMORY_MB = 32
MAX_HOST_RESERVE_MB = 1024 * 1024  # 2008 R2 SP1 Datacenter supports 1 TB
DEFAULT_HOST_RESERVE_MB = 2048
STATES = ("running", "off", "saved", "paused")
RESTART_VALUES = ("allowed", "never")
# policy `set` key -> model.FIELDS name
SET_FIELDS = {
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
        raise _fail(f"expected a size, got {_show(value)}", form)
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
            raise _fail(f"expected a whole number, got {_show(value)}", f"{lo}..{hi}")
        if not lo <= value <= hi:
            raise _fail(f"{value} is out of range", f"{lo}..{hi}")
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(f"expected true or false, got {_show(value)}", "true, false")
    return value


def _overcommit(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"expected a number, got {_show(value)}", "a number > 0 and <= 100, e.g. 1.5")
    if not 0 < value <= 100:
        raise _fail(f"{value} is out of range", "a number > 0 and <= 100, e.g. 1.5")
    return float(value)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise _fail(
            f"expected a {what} or a non-empty list of them, got {_show(value)}",
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


def _states(value: Any) -> tuple[str, ...]:
    items = _strings(value, "state")
    out = tuple(v.lower() for v in items)
    for i, (raw, item) in enumerate(zip(items, out, strict=True)):
        if item not in STATES:
            index = i if isinstance(value, list) else None
            raise _fail(f"unknown state {raw!r}", ", ".join(STATES), index)
    return out


def _restart(value: Any) -> str:
    if value not in RESTART_VALUES:
        raise _fail(f"expected allowed or never, got {_show(value)}", ", ".join(RESTART_VALUES))
    return str(value)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"expected a non-empty name, got {_show(value)}", "a string")
    return value


def _version(value: Any) -> int:
    if isinstance(value, bool) or value != 1:
        raise _fail(f"unsupported version {_show(value)}", "1")
    return 1


def _inventory(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"expected a path, got {_show(value)}", "a path relative to the policy file")
    return value


def _show(value: Any) -> str:
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
    state: Annotated[tuple[str, ...] | None, _v(_states)] = None


class RuleModel(_Strict):
    name: Annotated[str, _v(_name)]
    match: MatchModel
    set: SetModel
    restart: Annotated[str | None, _v(_restart)] = None


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
_ALLOWED_KEYS: dict[tuple[str, ...], str] = {
    (): _keys(PolicyModel),
    ("defaults",): _keys(SetModel),
    ("host",): _keys(HostModel),
    ("rules", "*"): _keys(RuleModel),
    ("rules", "*", "set"): _keys(SetModel),
    ("rules", "*", "match"): _keys(MatchModel),
    ("exclude", "*"): _keys(MatchModel),
}


# ---------------------------------------------------------------- evaluation records


def _compile(globs: Sequence[str] | None, *, strip_braces: bool = False) -> re.Pattern[str] | None:
    if globs is None:
        return None
    parts = [fnmatch.translate(g.strip("{}") if strip_braces else g) for g in globs]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Matcher:
    """One compiled `match` mapping; every given key must hold."""

    line: int
    vm: re.Pattern[str] | None = None
    vm_id: re.Pattern[str] | None = None
    host: re.Pattern[str] | None = None
    group: re.Pattern[str] | None = None
    os: re.Pattern[str] | None = None
    states: frozenset[str] | None = None

    @classmethod
    def build(cls, m: MatchModel, line: int) -> Matcher:
        return cls(
            line=line,
            vm=_compile(m.vm),
            vm_id=_compile(m.vm_id, strip_braces=True),
            host=_compile(m.host),
            group=_compile(m.group),
            os=_compile(m.os),
            states=None if m.state is None else frozenset(m.state),
        )

    def matches(self, vm: VmFacts, host: HostSpec) -> bool:
        if self.host is not None and not self.host.match(host.name):
            return False
        if self.group is not None and not any(self.group.match(g) for g in host.groups):
            return False
        if self.vm is not None and not self.vm.match(vm.name):
            return False
        if self.vm_id is not None and not self.vm_id.match(vm.id.strip("{}")):
            return False
        if self.states is not None and vm.state.label not in self.states:
            return False
        if self.os is not None:
            os_name = vm.guest.os_name
            if os_name is None or not self.os.match(os_name):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Rule:
    """A policy rule, compiled. `values` is keyed by `model.FIELDS` names."""

    name: str
    line: int
    index: int
    matcher: Matcher
    values: Mapping[str, DesiredValue]
    restart: str | None = None


@dataclass(frozen=True, slots=True)
class ExcludeRef:
    """Which `exclude` entry removed a VM from the policy."""

    index: int
    line: int
    file: str = ""

    def __str__(self) -> str:
        where = f"{Path(self.file).name}:{self.line}" if self.file else f"line {self.line}"
        return f"exclude[{self.index}] ({where})"


@dataclass(frozen=True, slots=True)
class Resolution:
    """The policy's answer for one VM: excluded, or desired values (maybe with an error).

    `restart` is the last matching rule's `restart:` ("allowed" | "never" |
    None); `may_restart` combines it with the --allow-restart flag.
    """

    desired: Desired | None = None
    excluded_by: ExcludeRef | None = None
    error: str | None = None
    restart: str | None = None
    note: str | None = None  # why there is nothing to say about this VM, when not excluded

    @property
    def excluded(self) -> bool:
        return self.excluded_by is not None

    def may_restart(self, allow_restart_flag: bool) -> bool:
        if self.restart == "never":
            return False
        return self.restart == "allowed" or allow_restart_flag


@dataclass(frozen=True, slots=True)
class Policy:
    """A loaded, validated policy; `resolve` evaluates it for one VM."""

    path: Path
    digest: str
    inventory_path: Path | None
    host_reserve_mb: int
    max_overcommit: float | None
    defaults: Mapping[str, DesiredValue]
    rules: tuple[Rule, ...]
    excludes: tuple[Matcher, ...] = field(default=())

    def resolve(self, vm: VmFacts, host: HostSpec) -> Resolution:
        for index, ex in enumerate(self.excludes):
            if ex.matches(vm, host):
                return Resolution(excluded_by=ExcludeRef(index, ex.line, str(self.path)))
        values = dict(self.defaults)
        matched: list[str] = []
        restart: str | None = None
        for rule in self.rules:
            if rule.matcher.matches(vm, host):
                values.update(rule.values)
                matched.append(rule.name)
                if rule.restart is not None:
                    restart = rule.restart
        error = _finish(values, vm)
        desired = Desired(values=values, restart_allowed=restart == "allowed", rules=tuple(matched))
        return Resolution(desired=desired, error=error, restart=restart)


def _finish(values: dict[str, DesiredValue], vm: VmFacts) -> str | None:
    """Apply Hyper-V's couplings in place; return an error for startup > maximum."""
    dyn = values.get("dynamic")
    dynamic = vm.memory.dynamic if dyn is None else bool(dyn.value)
    startup = values.get("startup_mb")
    error = None
    if not dynamic:
        # Static VMs: Hyper-V keeps Limit = VirtualQuantity; buffer/weight are inert.
        values.pop("buffer", None)
        values.pop("weight", None)
        if startup is None:
            values.pop("maximum_mb", None)
        else:
            values["maximum_mb"] = startup
    else:
        maximum = values.get("maximum_mb")
        if startup is not None or maximum is not None:
            s = vm.memory.startup_mb if startup is None else int(startup.value)
            m = vm.memory.maximum_mb if maximum is None else int(maximum.value)
            if s > m:
                s_from = "current" if startup is None else str(startup.provenance)
                m_from = "current" if maximum is None else str(maximum.provenance)
                error = (
                    f"startup {format_mb(s)} from {s_from} is larger than "
                    f"maximum {format_mb(m)} from {m_from}"
                )
    if startup is not None:
        # Hyper-V Manager on SP1 writes Reservation = startup.
        values["minimum_mb"] = startup
    return error


# ---------------------------------------------------------------- loading


def load_policy(path: Path) -> Policy:
    """Read, validate and compile a policy file; raise located errors for user mistakes."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(file, 1, 1, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(file, 1, 1, "", f"not UTF-8 text ({exc.reason})") from None
    doc = parse_yaml(text, file, PolicyError)
    if doc.data is None:
        raise PolicyError(file, 1, 1, "", "the file is empty", "a mapping with version: 1")
    try:
        model = PolicyModel.model_validate(doc.data)
    except ValidationError as exc:
        _raise([_translate(doc, err) for err in exc.errors()])
    _raise(_cross_checks(doc, model))
    return _compile_policy(path, hashlib.sha256(raw).hexdigest(), doc, model)


def _raise(errors: list[PolicyError]) -> None:
    errors.sort(key=lambda e: (e.line, e.col))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise MultipleInputErrors(list(errors))


def _translate(doc: YamlDoc, err: ErrorDetails) -> PolicyError:
    loc: KeyPath = tuple(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    allowed: str | None = None
    at_key = False
    if kind == "extra_forbidden":
        generic = tuple("*" if isinstance(p, int) else p for p in loc[:-1])
        message, allowed, at_key = "unknown key", _ALLOWED_KEYS.get(generic), True
    elif kind == "missing":
        message = "required key missing"
        pos = doc.pos(loc[:-1])
        return PolicyError(doc.file, pos.line, pos.col, key_str(loc), message)
    elif kind == "hvdyn":
        message, allowed = str(ctx["message"]), str(ctx["allowed"]) or None
        if ctx.get("index") is not None:
            loc = (*loc, int(ctx["index"]))
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"expected a mapping, got {_show(err['input'])}"
    elif kind in ("list_type", "tuple_type"):
        message = f"expected a list, got {_show(err['input'])}"
    else:  # not expected with the validators above; still located, never a traceback
        message = err["msg"]
    pos = doc.pos(loc, key=at_key)
    return PolicyError(doc.file, pos.line, pos.col, key_str(loc), message, allowed)


def _cross_checks(doc: YamlDoc, model: PolicyModel) -> list[PolicyError]:
    errors: list[PolicyError] = []
    seen: dict[str, int] = {}
    for i, rule in enumerate(model.rules):
        pos = doc.pos(("rules", i, "name"))
        if rule.name in seen:
            errors.append(
                PolicyError(
                    doc.file,
                    pos.line,
                    pos.col,
                    f"rules[{i}].name",
                    f"duplicate rule name {rule.name!r} (first at line {seen[rule.name]})",
                    "unique rule names",
                )
            )
        else:
            seen[rule.name] = pos.line
    for i, entry in enumerate(model.exclude):
        if not entry.model_fields_set:
            pos = doc.pos(("exclude", i))
            errors.append(
                PolicyError(
                    doc.file,
                    pos.line,
                    pos.col,
                    f"exclude[{i}]",
                    "an empty exclude entry would exclude every VM",
                    _ALLOWED_KEYS[("exclude", "*")],
                )
            )
    error = _startup_vs_maximum(doc, ("defaults",), model.defaults, SetModel())
    if error:
        errors.append(error)
    for i, rule in enumerate(model.rules):
        error = _startup_vs_maximum(doc, ("rules", i, "set"), rule.set, model.defaults)
        if error:
            errors.append(error)
    return errors


def _startup_vs_maximum(
    doc: YamlDoc, where: KeyPath, own: SetModel, base: SetModel
) -> PolicyError | None:
    """startup <= maximum for `own` layered on `base`, unless the result is static."""
    merged = base.model_copy(update=own.model_dump(exclude_unset=True))
    if merged.dynamic is False or merged.startup is None or merged.maximum is None:
        return None
    if merged.startup <= merged.maximum:
        return None
    key = next((k for k in ("startup", "maximum", "dynamic") if k in own.model_fields_set), None)
    path: KeyPath = (*where, key) if key else where
    pos = doc.pos(path)
    detail = "" if where == ("defaults",) else " (with defaults)"
    return PolicyError(
        doc.file,
        pos.line,
        pos.col,
        key_str(path),
        f"startup {format_mb(merged.startup)} is larger than maximum "
        f"{format_mb(merged.maximum)}{detail}",
        "startup <= maximum while dynamic",
    )


def _set_values(doc: YamlDoc, where: KeyPath, s: SetModel, source: str) -> dict[str, DesiredValue]:
    out: dict[str, DesiredValue] = {}
    for key in SET_FIELDS:  # file-independent, stable order
        if key not in s.model_fields_set:
            continue
        value = getattr(s, key)
        line = doc.pos((*where, key)).line
        out[SET_FIELDS[key]] = DesiredValue(
            value=value, provenance=Provenance(source=source, file=doc.file, line=line)
        )
    return out


def _compile_policy(path: Path, digest: str, doc: YamlDoc, model: PolicyModel) -> Policy:
    rules = tuple(
        Rule(
            name=r.name,
            line=doc.pos(("rules", i)).line,
            index=i,
            matcher=Matcher.build(r.match, doc.pos(("rules", i, "match")).line),
            values=_set_values(doc, ("rules", i, "set"), r.set, r.name),
            restart=r.restart,
        )
        for i, r in enumerate(model.rules)
    )
    excludes = tuple(
        Matcher.build(m, doc.pos(("exclude", i)).line) for i, m in enumerate(model.exclude)
    )
    inventory = None if model.inventory is None else (path.parent / model.inventory).resolve()
    return Policy(
        path=path,
        digest=digest,
        inventory_path=inventory,
        host_reserve_mb=(
            DEFAULT_HOST_RESERVE_MB if model.host.reserve is None else model.host.reserve
        ),
        max_overcommit=model.host.max_overcommit,
        defaults=_set_values(doc, ("defaults",), model.defaults, "defaults"),
        rules=rules,
        excludes=excludes,
    )
