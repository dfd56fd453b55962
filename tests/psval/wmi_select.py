"""Which Msvm_ComputerSystem objects a rendered script's VM enumeration selects.

Evaluates, against simulated WMI instances, each pipeline that enumerates
`Msvm_ComputerSystem` (a `-Filter` built from data is a per-GUID lookup
and is skipped): the WQL `-Filter "..."` (comparisons joined by AND,
compared case-insensitively as WQL does) and `Where-Object { ... }` stages
of the forms `[string]$_.Prop -cmatch $Var` / `-match` / `-eq` / `-ne`,
with `$Var` a single-quoted literal assigned at the start of a line. Any
other form raises, so a new way of selecting VMs cannot pass unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_ENUM = re.compile(r"Get-WmiObject\b[^|\n]*-Class Msvm_ComputerSystem\b[^\n]*")
_FILTER = re.compile(r'-Filter "([^"]*)"')
_WHERE = re.compile(r"Where-Object \{ (.*?) \}")
_CMP = re.compile(r"^\s*(\w+)\s*(=|<>|!=)\s*'([^']*)'\s*$")
_PS_TEST = re.compile(
    r"^(?:\[string\])?\$_\.(\w+) -(cmatch|match|eq|ne|ceq|cne) (\$\w+|'[^']*')$"
)


class Unsupported(ValueError):
    """A selection form this evaluator does not know."""


def _wql(clause: str, obj: Mapping[str, Any]) -> bool:
    for part in re.split(r"\s+AND\s+", clause, flags=re.IGNORECASE):
        m = _CMP.match(part)
        if not m:
            raise Unsupported(f"WQL condition {part!r}")
        prop, op, value = m.groups()
        have = str(obj.get(prop, "")).casefold() == value.casefold()
        if have != (op == "="):
            return False
    return True


def _literal(token: str, script: str) -> str:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    m = re.search(rf"^\{token} = '((?:[^']|'')*)'$", script, re.MULTILINE)
    if not m:
        raise Unsupported(f"variable {token} is not a literal assigned in the script")
    return m.group(1).replace("''", "'")


def _ps_test(expr: str, obj: Mapping[str, Any], script: str) -> bool:
    m = _PS_TEST.match(expr)
    if not m:
        raise Unsupported(f"Where-Object condition {expr!r}")
    prop, op, token = m.groups()
    value = str(obj.get(prop, ""))
    pattern = _literal(token, script)
    if op in ("cmatch", "match"):
        py = pattern.replace(r"\z", r"\Z")
        flags = 0 if op == "cmatch" else re.IGNORECASE
        return re.search(py, value, flags) is not None
    same = value == pattern if op.startswith("c") else value.casefold() == pattern.casefold()
    return same if op.endswith("eq") else not same


def enumerations(script: str) -> list[str]:
    """The script's Msvm_ComputerSystem enumeration lines (per-GUID lookups left out)."""
    return [m.group(0) for m in _ENUM.finditer(script) if "-Filter (" not in m.group(0)]


def selected(line: str, script: str, objects: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the objects the enumeration on `line` keeps."""
    kept = list(objects)
    f = _FILTER.search(line)
    if f:
        kept = [o for o in kept if _wql(f.group(1), o)]
    for where in _WHERE.finditer(line):
        kept = [o for o in kept if _ps_test(where.group(1), o, script)]
    return [str(o["Name"]) for o in kept]
