"""Rules and what they find: one declaration per `HVDnnn` id, one finding type.

A `Rule` says what (its id and title), how bad (its severity) and of which
kind; a `Finding` says where and why, and takes its id and severity from the
rule, so neither is ever spelled twice. The safety checks of a plan
(`hvdyn.planning.checks`) and the audit (`hvdyn.analysis.audit`) declare
their rules this way; `hvdyn.analysis.catalog` holds them all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Kind(enum.StrEnum):
    """What a rule judges; the audit prints it, and drift fails an audit whatever its severity."""

    CHECK = "check"  # a safety check of a plan: errors block the change
    HOST = "host"  # the audit could not judge the host
    DRIFT = "drift"  # a setting differs from the policy
    HEALTH = "health"  # stored counters or the host's configuration look wrong


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One `HVDnnn` id, declared once: the README and docs tables are generated from these."""

    id: str
    severity: Severity
    kind: Kind
    title: str
    # Capacity rules: the severity when the plan does not make the breach worse.
    eased_to: Severity | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What a rule found about a VM or a host: where and why; the rule says what."""

    rule: Rule
    message: str
    vm_id: str | None = None
    eased: bool = False  # the plan does not make it worse: the rule's `eased_to` severity
    # Audit findings name their host (a fleet's findings are one list) and say how to
    # fix them; a plan's findings sit in their host's result and need neither.
    host: str = ""
    vm_name: str | None = None
    remediation: str = ""

    def __post_init__(self) -> None:
        if self.eased and self.rule.eased_to is None:
            raise ValueError(f"{self.rule.id} has no eased severity")

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def severity(self) -> Severity:
        if self.eased and self.rule.eased_to is not None:
            return self.rule.eased_to
        return self.rule.severity

    @property
    def kind(self) -> Kind:
        return self.rule.kind

    @property
    def blocks(self) -> bool:
        """An error of a safety check blocks the change it found."""
        return self.severity is Severity.ERROR

    @property
    def fails(self) -> bool:
        """Drift and error findings fail a JUnit test case and make the audit exit 2."""
        return self.kind is Kind.DRIFT or self.severity is Severity.ERROR
