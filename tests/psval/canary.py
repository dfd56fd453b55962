"""Canary render: prove every data string came out as one whole string literal.

Each str leaf of the params is replaced by a unique canary that has no letters
(so |upper/|lower keep it), contains every single and double quote PowerShell
knows, `$(`, a backtick, `|`, `#` and a newline. After rendering, every place the
canary's marker appears must be covered by a string_literal node whose text is
exactly `ps_string(canary)` (a parenthesised concatenation of ASCII literals and
[char] pieces, since the canary is not ASCII) and whose value (by the
ScanStringLiteral port) is exactly the canary. A value written inside quotes the
template wrote itself
(`'Name: {{ x }}'`, `"...{{ x }}..."`) fails that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hvdyn.powershell.quoting import ps_string

from .parse import parse, walk
from .quote_oracle import ps_string_value


def canary(i: int) -> str:
    return f"'\u2019\u201a\"\u201c<{i}>;$(0)`|#\n"


def marker(i: int) -> str:
    """A piece of canary i that survives any quoting and is unique per i."""
    return f"<{i}>;$(0)`|#"


@dataclass
class CanaryPlan:
    params: Any
    paths: dict[int, str] = field(default_factory=dict)  # canary index -> data path


def plant(params: Any, keep: Callable[[str, str], bool] = lambda path, value: False) -> CanaryPlan:
    """Copy of params with every str leaf (not dict keys) replaced by a canary.

    `keep(path, value)` leaves a leaf alone (e.g. a GUID the renderer validates).
    """
    plan = CanaryPlan(params=None)

    def go(value: Any, path: str) -> Any:
        if isinstance(value, str):
            if keep(path, value):
                return value
            i = len(plan.paths) + 1
            plan.paths[i] = path
            return canary(i)
        if isinstance(value, Mapping):
            return {k: go(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [go(v, f"{path}[{n}]") for n, v in enumerate(value)]
        return value

    plan.params = go(params, "")
    return plan


@dataclass
class CanaryReport:
    leaked: list[str]  # data paths whose value is not one whole literal somewhere
    isolated: list[str]  # data paths that appeared, always as whole literals
    unused: list[str]  # data paths that never appeared (branch not taken / not used)


def check_canaries(text: str, plan: CanaryPlan) -> CanaryReport:
    p = parse(text)
    # character spans of every string literal, by original text
    spans: dict[int, int] = {}
    for n in walk(p.root):
        if n.type in ("string_literal", "parenthesized_expression"):
            start = len(p.data[: n.start_byte].decode("utf-8"))
            spans[start] = start + len(p.data[n.start_byte : n.end_byte].decode("utf-8"))
    leaked: list[str] = []
    isolated: list[str] = []
    unused: list[str] = []
    for i, path in plan.paths.items():
        quoted = ps_string(canary(i))
        mark = marker(i)
        offset_in_quoted = quoted.index(mark)
        hits = []
        pos = text.find(mark)
        while pos >= 0:
            hits.append(pos)
            pos = text.find(mark, pos + 1)
        if not hits:
            unused.append(path)
            continue
        ok = True
        for hit in hits:
            start = hit - offset_in_quoted
            good = (
                start >= 0
                and text[start : start + len(quoted)] == quoted
                and spans.get(start) == start + len(quoted)
                and ps_string_value(text, start) == (canary(i), start + len(quoted))
            )
            ok = ok and good
        (isolated if ok else leaked).append(path)
    return CanaryReport(leaked=leaked, isolated=isolated, unused=unused)


def canary_render(
    render: Callable[[Any], str], params: Any, keep: Callable[[str, str], bool] | None = None
) -> CanaryReport:
    """Render with canaries (via `render(params) -> text`) and check isolation."""
    plan = plant(params, keep or (lambda path, value: False))
    return check_canaries(render(plan.params), plan)
