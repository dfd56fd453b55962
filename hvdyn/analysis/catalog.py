"""Every `HVDnnn` id hvdyn reports, in one catalogue: the safety checks and the audit's rules.

The README's table of checks and docs/metrics.md's table of finding ids are
generated from it (tests/cli/test_docs.py compares them with the documents).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hvdyn.analysis.audit.rules import AUDIT_RULES
from hvdyn.core.findings import Rule
from hvdyn.planning.checks import HOST_CHECKS, VM_CHECKS

CHECK_RULES: tuple[Rule, ...] = (*(c.rule for c in VM_CHECKS), *(c.rule for c in HOST_CHECKS))


def _by_id(rules: Iterable[Rule]) -> Mapping[str, Rule]:
    catalogue: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in catalogue:
            raise ValueError(f"{rule.id} is declared twice")
        catalogue[rule.id] = rule
    return dict(sorted(catalogue.items()))


RULES: Mapping[str, Rule] = _by_id((*CHECK_RULES, *AUDIT_RULES))


def checks_table() -> str:
    """Markdown table of the safety checks, for the README."""
    lines = ["| id | severity | check |", "|---|---|---|"]
    lines += [f"| {r.id} | {r.severity} | {r.title} |" for r in sorted(CHECK_RULES, key=_id)]
    return "\n".join(lines)


def audit_table() -> str:
    """Markdown table of the audit's finding ids, for docs/metrics.md."""
    lines = ["| id | severity | kind | finding |", "|---|---|---|---|"]
    lines += [f"| {r.id} | {r.severity} | {r.kind} | {r.title} |"
              for r in sorted(AUDIT_RULES, key=_id)]
    return "\n".join(lines)


def _id(rule: Rule) -> str:
    return rule.id
