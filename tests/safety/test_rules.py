"""Checks and audit findings are declared rules: each id once, its severity from the rule."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hvdyn.analysis.audit.rules import AUDIT_RULES, MINIMUM_DRIFT, NO_SAMPLES
from hvdyn.analysis.catalog import CHECK_RULES, RULES, _by_id
from hvdyn.core.findings import Finding, Kind, Severity
from hvdyn.core.model import GuestInfo, HostFacts, MemorySettings, VmFacts, VmState
from hvdyn.planning.checks import VmContext, check_vm
from hvdyn.planning.checks.host import admission, duplicate_names

REPO = Path(__file__).resolve().parents[2]
RULE_ID = re.compile(r"HVD\d{3}")
DYNAMIC = MemorySettings(dynamic=True, startup_mb=1024, minimum_mb=1024, maximum_mb=4096,
                         buffer=20, weight=5000)
STATIC = MemorySettings(dynamic=False, startup_mb=1024, minimum_mb=1024, maximum_mb=1024,
                        buffer=20, weight=5000)


def test_one_catalogue_holds_every_id_once() -> None:
    assert len(RULES) == len(CHECK_RULES) + len(AUDIT_RULES)
    assert all(RULE_ID.fullmatch(rule_id) for rule_id in RULES)
    assert {r.kind for r in CHECK_RULES} == {Kind.CHECK}
    assert Kind.CHECK not in {r.kind for r in AUDIT_RULES}
    with pytest.raises(ValueError, match="HVD150 is declared twice"):
        _by_id((NO_SAMPLES, NO_SAMPLES))


def _id_literals(path: Path) -> list[str]:
    """`HVDnnn` strings in a module other than a rule's declaration (`@check(...)`, `Rule(...)`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declared: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("check", "Rule"):
            declared |= {id(n) for n in ast.walk(node)}
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]  # the docstring, when it is a string
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                declared.add(id(first.value))
    return [
        f"{path.name}:{n.lineno}: {n.value}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
        and RULE_ID.search(n.value) and id(n) not in declared
    ]


def test_no_check_or_audit_function_spells_an_id() -> None:
    """The declaration says which id; the code that finds says only where and why."""
    modules = sorted((REPO / "hvdyn" / "planning" / "checks").glob("*.py"))
    modules += sorted((REPO / "hvdyn" / "analysis" / "audit").glob("*.py"))
    assert [hit for path in modules for hit in _id_literals(path)] == []


def test_the_id_scan_finds_a_spelled_id(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""HVD001 in a docstring is fine."""\n'
                      '@check("HVD001", Severity.ERROR, "title")\n'
                      'def f(ctx):\n'
                      '    return [Finding(check="HVD002", message="x")]\n', encoding="utf-8")
    assert _id_literals(module) == ["m.py:4: HVD002"]


def test_a_finding_takes_id_severity_and_kind_from_its_rule() -> None:
    drift = Finding(rule=MINIMUM_DRIFT, host="h", message="m")
    assert (drift.id, drift.severity, drift.kind) == ("HVD102", Severity.WARNING, Kind.DRIFT)
    assert drift.fails and not drift.blocks  # drift fails an audit whatever its severity
    info = Finding(rule=NO_SAMPLES, host="h", message="m")
    assert not info.fails


def test_only_a_rule_with_an_eased_severity_can_be_eased() -> None:
    eased = Finding(rule=admission.rule, message="m", eased=True)
    assert eased.severity is Severity.WARNING and not eased.blocks
    assert Finding(rule=admission.rule, message="m").blocks
    with pytest.raises(ValueError, match="HVD008 has no eased severity"):
        Finding(rule=duplicate_names.rule, message="m", eased=True)


@pytest.mark.parametrize("os_name", [
    None, "Windows 7 Professional", "Windows Server 2008 R2 Standard",
    "Windows Server 2008 R2 Enterprise", "Windows 8",
])
@pytest.mark.parametrize("current", [STATIC, DYNAMIC])
def test_the_guest_rules_fire_at_most_one_at_a_time(os_name: str | None,
                                                    current: MemorySettings) -> None:
    vm = VmFacts(id="A", name="a", state=VmState.OFF, memory=current,
                 guest=GuestInfo(os_name=os_name))
    found = check_vm(VmContext(vm=vm, target=DYNAMIC, host=HostFacts(name="h", total_mb=8192,
                                                                     free_mb=4096)))
    guest = [f.id for f in found if f.id in ("HVD001", "HVD002", "HVD013")]
    assert len(guest) <= 1 and all(f.vm_id == "A" for f in found)
