"""A loaded policy and its answer for one VM: excluded, or desired values with provenance.

Evaluation is plain Python over precompiled matches (`hvdyn.policy.match`),
because `resolve` runs once per VM in fleets of tens of thousands.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hvdyn.core.errors import PolicyError
from hvdyn.core.model import Desired, DesiredValue, HostSpec, SettingName, VmFacts
from hvdyn.core.sizes import STATIC_INERT_FIELDS, startup_above_maximum, stored_limits
from hvdyn.core.vocab import Restart
from hvdyn.policy.match import Matcher


@dataclass(frozen=True, slots=True)
class Rule:
    """A policy rule, compiled. `values` is keyed by `model.FIELDS` names."""

    name: str
    line: int
    index: int
    matcher: Matcher
    values: Mapping[SettingName, DesiredValue]
    restart: Restart | None = None


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

    `restart` is the last matching rule's `restart:` (None when no matching rule
    says); `may_restart` combines it with the --allow-restart flag.
    """

    desired: Desired | None = None
    excluded_by: ExcludeRef | None = None
    error: str | None = None
    restart: Restart | None = None
    note: str | None = None  # why there is nothing to say about this VM, when not excluded
    # When left alone for an unknown OS: the rules that match it whatever the OS, and the
    # rules and excludes that hang on the OS (explain lists both).
    matched: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()

    @property
    def excluded(self) -> bool:
        return self.excluded_by is not None

    def may_restart(self, allow_restart_flag: bool) -> bool:
        if self.restart is Restart.NEVER:
            return False
        return self.restart is Restart.ALLOWED or allow_restart_flag


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
    defaults: Mapping[SettingName, DesiredValue]
    rules: tuple[Rule, ...]
    excludes: tuple[Matcher, ...] = field(default=())
    inventory_at: tuple[int, int] = (0, 0)  # line, column of `inventory:` in the policy
    # (host name, groups) -> the excludes and rules whose host/group keys hold there
    _for_host: dict[tuple[str, tuple[str, ...]], _HostView] = field(
        default_factory=dict, compare=False, repr=False
    )

    def inventory_error(self, message: str) -> PolicyError:
        """An error about the policy's inventory, at its `inventory:` key (else at the top)."""
        line, col = self.inventory_at if self.inventory_at[0] else (1, 1)
        return PolicyError(str(self.path), line, col, "inventory", message)

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
        restart: Restart | None = None
        for rule in view.rules:
            if rule.matcher.matches_vm(vm):
                values.update(rule.values)
                matched.append(rule.name)
                if rule.restart is not None:
                    restart = rule.restart
        error = _finish(values, vm)
        desired = Desired(values=values, rules=tuple(matched))
        return Resolution(desired=desired, error=error, restart=restart)


def _finish(values: dict[SettingName, DesiredValue], vm: VmFacts) -> str | None:
    """Apply Hyper-V's couplings in place; return an error for startup > maximum."""
    dyn = values.get("dynamic")
    dynamic = vm.memory.dynamic if dyn is None else bool(dyn.value)
    startup = values.get("startup_mb")
    maximum = values.get("maximum_mb")
    error = None
    if not dynamic:
        for name in STATIC_INERT_FIELDS:
            values.pop(name, None)
    elif startup is not None or maximum is not None:
        error = startup_above_maximum(
            True,
            vm.memory.startup_mb if startup is None else int(startup.value),
            vm.memory.maximum_mb if maximum is None else int(maximum.value),
            startup_from="current" if startup is None else startup.provenance,
            maximum_from="current" if maximum is None else maximum.provenance,
        )
    # Hyper-V Manager on SP1 writes Reservation = startup, so a policy's startup is its
    # minimum too; a static VM's maximum is its startup as well.
    minimum, maximum = stored_limits(dynamic, startup, startup, maximum)
    _put(values, "maximum_mb", maximum)
    _put(values, "minimum_mb", minimum)
    return error


def _put(values: dict[SettingName, DesiredValue], name: SettingName,
         value: DesiredValue | None) -> None:
    if value is None:
        values.pop(name, None)
    else:
        values[name] = value
