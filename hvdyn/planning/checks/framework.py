"""How a safety check is declared: a rule (id, severity, title) and where it fires.

As in ansible-lint, the declaration says what and how bad, once; the check's
function only says where and why: it returns `Hit`s, and `Check.run` turns
them into `Finding`s that take their id and severity from the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from hvdyn.core.findings import Finding, Kind, Rule, Severity

C = TypeVar("C")  # what a check looks at: a VM's or a host's context


@dataclass(frozen=True, slots=True)
class Hit:
    """Where and why a check fired: the message, the VM when a host check names one."""

    message: str
    vm_id: str | None = None
    eased: bool = False  # the plan does not make it worse: the rule's eased severity


@dataclass(frozen=True, slots=True, kw_only=True)
class Check(Generic[C]):
    """A declared rule and the function that finds where it applies."""

    rule: Rule
    find: Callable[[C], Iterable[Hit]]

    def run(self, ctx: C, *, vm_id: str | None = None) -> list[Finding]:
        """The rule's findings in `ctx`; `vm_id` names the VM a VM check looked at."""
        return [
            Finding(rule=self.rule, message=hit.message, vm_id=hit.vm_id or vm_id,
                    eased=hit.eased)
            for hit in self.find(ctx)
        ]


def check(
    rule_id: str, severity: Severity, title: str, *, eased_to: Severity | None = None
) -> Callable[[Callable[[C], Iterable[Hit]]], Check[C]]:
    """Declare a safety check: `@check("HVD003", Severity.ERROR, "title")` on its function."""
    rule = Rule(id=rule_id, severity=severity, kind=Kind.CHECK, title=title, eased_to=eased_to)

    def declare(find: Callable[[C], Iterable[Hit]]) -> Check[C]:
        return Check(rule=rule, find=find)

    return declare
