"""A policy's `match` and `exclude` mappings, compiled once and tested per VM.

Globs become one case-insensitive regex per key, because a policy is tested
against every VM of fleets of tens of thousands.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hvdyn.core.model import HostSpec, VmFacts, VmState
from hvdyn.policy.schema import MatchModel


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
    states: frozenset[VmState] | None = None

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
        return self.states is None or vm.state in self.states

    def undecided(self, vm: VmFacts) -> bool:
        """Whether this match hangs on a guest OS the VM does not report (it is not running)."""
        return self.os is not None and vm.guest.os_name is None and self.matches_vm_but_os(vm)
