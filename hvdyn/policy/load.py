"""Policy file -> `Policy`; per-VM rule evaluation with provenance (README: Policy).

Loading happens in two passes so that every user mistake comes back as
FILE:LINE:COL: pydantic checks shape and single values (positions come from
`yamlpos`), then cross-field checks (duplicate rule names, startup > maximum)
run on the validated model. Evaluation is plain Python over precompiled
regexes, because `resolve` runs once per VM in fleets of tens of thousands.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from hvdyn.core.errors import MultipleInputErrors, PolicyError
from hvdyn.core.fileio import read_input
from hvdyn.core.model import (
    Desired,
    DesiredValue,
    HostSpec,
    Provenance,
    VmFacts,
    VmState,
    format_mb,
)
from hvdyn.core.yamlpos import KeyPath, YamlDoc, key_str, parse_yaml
from hvdyn.policy.schema import (
    ALLOWED_KEYS,
    DEFAULT_HOST_RESERVE_MB,
    SET_FIELDS,
    MatchModel,
    PolicyModel,
    SetModel,
    show_value,
)

# ---------------------------------------------------------------- evaluation records


def _compile(globs: Sequence[str] | None, *, strip_braces: bool = False) -> re.Pattern[str] | None:
    if globs is None:
        return None
    parts = [fnmatch.translate(g.strip("{}") if strip_braces else g) for g in globs]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


# VmState.label of each state, looked up rather than computed for every VM and rule.
_STATE_LABELS = {state: state.label for state in VmState}


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

    def matches_host(self, host: HostSpec) -> bool:
        """The host-level keys (`host`, `group`); the same for every VM of a host."""
        if self.host is not None and not self.host.match(host.name):
            return False
        return self.group is None or any(self.group.match(g) for g in host.groups)

    def matches_vm(self, vm: VmFacts) -> bool:
        """The VM-level keys (`vm`, `vm_id`, `state`, `os`)."""
        if not self.matches_vm_but_os(vm):
            return False
        if self.os is not None:
            os_name = vm.guest.os_name
            if os_name is None or not self.os.match(os_name):
                return False
        return True

    def matches_vm_but_os(self, vm: VmFacts) -> bool:
        if self.vm is not None and not self.vm.match(vm.name):
            return False
        if self.vm_id is not None and not self.vm_id.match(vm.id.strip("{}")):
            return False
        return self.states is None or _STATE_LABELS[vm.state] in self.states

    def undecided(self, vm: VmFacts) -> bool:
        """Whether this match hangs on a guest OS the VM does not report (it is not running)."""
        return self.os is not None and vm.guest.os_name is None and self.matches_vm_but_os(vm)


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
        where = f"{_file_name(self.file)}:{self.line}" if self.file else f"line {self.line}"
        return f"exclude[{self.index}] ({where})"


@functools.lru_cache(maxsize=64)
def _file_name(path: str) -> str:
    """The policy file's name, for every excluded VM of a run."""
    return Path(path).name


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
    # When left alone for an unknown OS: the rules that match it whatever the OS, and the
    # rules and excludes that hang on the OS (explain lists both).
    matched: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()

    @property
    def excluded(self) -> bool:
        return self.excluded_by is not None

    def may_restart(self, allow_restart_flag: bool) -> bool:
        if self.restart == "never":
            return False
        return self.restart == "allowed" or allow_restart_flag


@dataclass(frozen=True, slots=True)
class _HostView:
    excludes: tuple[tuple[int, Matcher], ...]
    rules: tuple[Rule, ...]


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
    inventory_at: tuple[int, int] = (0, 0)  # line, column of `inventory:` in the policy
    # (host name, groups) -> the excludes and rules whose host/group keys hold there
    _for_host: dict[tuple[str, tuple[str, ...]], _HostView] = field(
        default_factory=dict, compare=False, repr=False
    )

    def _view(self, host: HostSpec) -> _HostView:
        """Excludes and rules that can apply on this host, worked out once per host."""
        key = (host.name, host.groups)
        view = self._for_host.get(key)
        if view is None:
            view = _HostView(
                excludes=tuple((i, m) for i, m in enumerate(self.excludes) if m.matches_host(host)),
                rules=tuple(r for r in self.rules if r.matcher.matches_host(host)),
            )
            self._for_host[key] = view
        return view

    def resolve(self, vm: VmFacts, host: HostSpec) -> Resolution:
        view = self._view(host)
        for index, ex in view.excludes:
            if ex.matches_vm(vm):
                return Resolution(excluded_by=ExcludeRef(index, ex.line, str(self.path)))
        undecided: list[str] = []
        if vm.guest.os_name is None:  # only a VM without an OS can hang on `os`
            undecided = [f"exclude[{i}]" for i, ex in view.excludes if ex.undecided(vm)]
            undecided += [r.name for r in view.rules if r.matcher.undecided(vm)]
        if undecided:
            # Planning without the OS would give the VM other values than it gets once
            # it runs (and flip them back then): leave it alone until the OS is known.
            return Resolution(
                note=(
                    f"left alone: its guest OS is unknown while it is {vm.state.label}, "
                    f"and {', '.join(undecided)} match on os"
                ),
                matched=tuple(r.name for r in view.rules if r.matcher.matches_vm(vm)),
                undecided=tuple(undecided),
            )
        values = dict(self.defaults)
        matched: list[str] = []
        restart: str | None = None
        for rule in view.rules:
            if rule.matcher.matches_vm(vm):
                values.update(rule.values)
                matched.append(rule.name)
                if rule.restart is not None:
                    restart = rule.restart
        error = _finish(values, vm)
        desired = Desired(values=values, rules=tuple(matched))
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
    raw = read_input(path, PolicyError)  # a file it cannot read: "FILE: cannot read: why"
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
        message, allowed, at_key = "unknown key", ALLOWED_KEYS.get(generic), True
    elif kind == "missing":
        message = "required key missing"
        pos = doc.pos(loc[:-1])
        return PolicyError(doc.file, pos.line, pos.col, key_str(loc), message)
    elif kind == "hvdyn":
        message, allowed = str(ctx["message"]), str(ctx["allowed"]) or None
        if ctx.get("index") is not None:
            loc = (*loc, int(ctx["index"]))
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"expected a mapping, got {show_value(err['input'])}"
    elif kind in ("list_type", "tuple_type"):
        message = f"expected a list, got {show_value(err['input'])}"
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
                    ALLOWED_KEYS[("exclude", "*")],
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
    where = doc.pos(("inventory",)) if model.inventory is not None else None
    return Policy(
        path=path,
        digest=digest,
        inventory_path=inventory,
        inventory_at=(where.line, where.col) if where is not None else (0, 0),
        host_reserve_mb=(
            DEFAULT_HOST_RESERVE_MB if model.host.reserve is None else model.host.reserve
        ),
        max_overcommit=model.host.max_overcommit,
        defaults=_set_values(doc, ("defaults",), model.defaults, "defaults"),
        rules=rules,
        excludes=excludes,
    )
