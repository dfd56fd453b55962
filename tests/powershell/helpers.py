"""Shared bits for the render tests: parsing with PowerShell's quote/dash mapping, params."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import tree_sitter as ts
import tree_sitter_powershell as tsp

from hvdyn.core.model import Change, HostPlan, MemorySettings, VmFacts, VmPlan, VmState
from hvdyn.powershell.params import ApplyOptions, apply_params, collect_params, discover_params

_PARSER = ts.Parser(ts.Language(tsp.language()))
# PowerShell treats these as ' " - (its tokenizer's CharTraits, docs/reference-notes.md);
# the grammar does not, so map them one code point for one before parsing.
PS_EQUIV = str.maketrans(
    {
        **{c: "'" for c in "\u2018\u2019\u201a\u201b"},
        **{c: '"' for c in "\u201c\u201d\u201e"},
        **{c: "-" for c in "\u2013\u2014\u2015"},
    }
)

HOSTILE_NAMES = [
    "web01",
    "O'Brien's VM",
    "\u2018left\u2019 \u201aright\u201b",
    "x\u2019; Remove-Item C:\\ -Recurse; \u2018",
    'say "hi" \u201cthere\u201d \u201elow\u201d',
    "$(Stop-Computer -Force)",
    "back`tick`",
    "line1\r\nline2\nline3\rline4",
    "#> <# not a comment",
    "\n'@\nRemove-Item C:\\\n@'",
    "en\u2013dash em\u2014dash bar\u2015",
    "emoji \U0001f600 \U0001f4be",
    "'" * 7,
    "",
    "{{ params }} {% raw %} {# x #}",
    "A" * 2048,
    ("q'\u2019\u201c$(x)`\n" * 120)[:2048],
]


def parse(src: str) -> ts.Tree:
    return _PARSER.parse(src.translate(PS_EQUIV).encode("utf-8"))


def walk(node: ts.Node) -> Iterator[ts.Node]:
    cursor = node.walk()
    visited_children = False
    while True:
        if not visited_children:
            yield cursor.node  # type: ignore[misc]
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
        else:
            return


def syntax_problems(src: str) -> list[str]:
    tree = parse(src)
    data = src.translate(PS_EQUIV).encode("utf-8")
    out = []
    for n in walk(tree.root_node):
        if n.is_error or n.is_missing:
            line = n.start_point[0] + 1
            out.append(f"line {line}: {n.type} {data[n.start_byte : n.end_byte][:60]!r}")
        elif n.has_error and not any(c.has_error or c.is_error or c.is_missing for c in n.children):
            out.append(f"line {n.start_point[0] + 1}: missing token inside {n.type}")
    return out


def comments(src: str) -> list[str]:
    return [n.text.decode() for n in walk(parse(src).root_node) if n.type == "comment" and n.text]


def code_tokens(src: str) -> list[str]:
    """Leaf tokens other than comments: the program as the parser sees it."""
    return [
        n.text.decode()
        for n in walk(parse(src).root_node)
        if n.child_count == 0 and n.type != "comment" and n.text
    ]


def guid(i: int) -> str:
    return str(uuid.UUID(int=0x5EED0000_0000_0000_0000_000000000000 + i)).upper()


def settings(**kw: Any) -> MemorySettings:
    base: dict[str, Any] = dict(
        dynamic=True, startup_mb=1024, minimum_mb=1024, maximum_mb=4096, buffer=20, weight=5000
    )
    base.update(kw)
    return MemorySettings(**base)


def host_plan(names: list[str]) -> HostPlan:
    """A plan with one VM per name: alternating offline (maximum) and online (weight) changes."""
    vms = []
    for i, name in enumerate(names):
        current = settings()
        if i % 2 == 0:
            target = settings(maximum_mb=8192)
            change = Change(field="maximum_mb", current=4096, desired=8192, needs_off=True)
        else:
            target = settings(weight=7000)
            change = Change(field="weight", current=5000, desired=7000, needs_off=False)
        facts = VmFacts(id=guid(i), name=name, state=VmState.RUNNING, memory=current)
        vms.append(VmPlan(vm=facts, changes=(change,), restart=i % 3 == 0, target=target))
    return HostPlan(host="hv01.corp.example", facts=None, vms=tuple(vms))


def all_params(names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    names = HOSTILE_NAMES if names is None else names
    return {
        "discover": discover_params("hv01.corp.example"),
        "apply": apply_params(host_plan(names), ApplyOptions(force_off=True)),
        "collect": collect_params("hv01.corp.example", samples=3, interval_s=10),
        "ping": {"host": "hv01.corp.example", "delivery": "stdin"},
        "probe": {"host": "hv01.corp.example", "delivery": "stdin", "exit_code": 3},
    }
