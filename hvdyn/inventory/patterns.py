"""Ansible's host-pattern grammar for ``--limit`` (ansible-core 2.19 InventoryManager).

- parts are separated by ``,`` (or by ``:`` when there is no comma and the
  whole is not one ``host:port``/range);
- plain parts add hosts (a group brings its hosts and its descendants'),
  ``&part`` intersects, ``!part`` removes; plain parts first, then ``&``,
  then ``!``; only ``&``/``!`` parts start from ``all``;
- ``*``, ``?``, ``[seq]`` globs, ``~regex`` (Python ``re.match``);
- ``part[0]``, ``part[-1]``, ``part[0:2]`` (inclusive) slices of a group in
  inventory order;
- names are case-sensitive.

A part that matches nothing is ignored with a warning, as Ansible does; an
empty selection as a whole is an error (exit 3).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence

from hvdyn.core.errors import InputError
from hvdyn.inventory.base import log
from hvdyn.inventory.names import split_port

_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_COLON_PARTS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")


def split_pattern(pattern: str) -> list[str]:
    """The parts of a pattern, as Ansible's ``split_host_pattern`` cuts them."""
    pattern = pattern.strip()
    if "," in pattern:
        parts = pattern.split(",")
    else:
        base, port = split_port(pattern)
        parts = [pattern] if port is not None or ":" not in base else []
        if not parts:
            parts = _COLON_PARTS.findall(pattern)
    return [p.strip() for p in parts if p.strip()]


def _order(parts: list[str]) -> list[str]:
    regular = [p for p in parts if p[0] not in "!&"]
    return (regular or ["all"]) + [p for p in parts if p[0] == "&"] + [
        p for p in parts if p[0] == "!"
    ]


def _compile(expr: str) -> re.Pattern[str]:
    try:
        return re.compile(expr[1:] if expr.startswith("~") else fnmatch.translate(expr))
    except re.error as exc:
        raise InputError(f"--limit: invalid host pattern {expr!r}: {exc}") from None


class Selector:
    """Evaluates patterns against hosts (inventory order) and groups (member hosts, in order)."""

    def __init__(self, hosts: Sequence[str], groups: Mapping[str, Sequence[str]]) -> None:
        self.hosts = list(hosts)
        self.host_set = set(hosts)
        self.groups = groups
        self.unmatched: list[str] = []

    def enumerate(self, expr: str) -> list[str]:
        rx = _compile(expr)
        matching_groups = [g for g in self.groups if rx.match(g)]
        found: list[str] = []
        for group in matching_groups:
            found.extend(self.groups[group])
        if not matching_groups or expr[0] == "~" or any(c in expr for c in ".?*["):
            found.extend(h for h in self.hosts if rx.match(h))
        return found

    def one(self, part: str) -> list[str]:
        expr = part[1:] if part[0] in "!&" else part
        subscript: tuple[int, int | None] | None = None
        match = None if expr.startswith("~") else _SUBSCRIPT.match(expr)
        if match:
            expr, index, start, _, end = match.groups()
            subscript = (int(index), None) if index else (int(start), int(end) if end else -1)
        found = self.enumerate(expr)
        if not found and expr != "all":
            self.unmatched.append(part)
            return []
        if subscript is None:
            return found
        first, last = subscript
        try:
            if last:
                return found[first : (len(found) if last == -1 else last + 1)]
            return [found[first]]
        except IndexError:
            raise InputError(f"--limit: no host matches the subscripted pattern {part!r}") from None

    def select(self, pattern: str) -> list[str]:
        chosen: dict[str, None] = {}  # ordered set
        for part in _order(split_pattern(pattern)):
            if part in self.host_set:
                chosen.setdefault(part, None)
                continue
            that = self.one(part)
            if part[0] == "!":
                for host in that:
                    chosen.pop(host, None)
            elif part[0] == "&":
                keep = set(that)
                chosen = {h: None for h in chosen if h in keep}
            else:
                for host in that:
                    chosen.setdefault(host, None)
        return list(chosen)


def select(hosts: Sequence[str], groups: Mapping[str, Sequence[str]], pattern: str) -> list[str]:
    """Host names a pattern selects; warns per part that matches nothing, errors when empty."""
    selector = Selector(hosts, groups)
    chosen = selector.select(pattern)
    for part in selector.unmatched:
        log.warning("--limit: could not match supplied host pattern, ignoring: %s", part)
    if not chosen:
        shown = ", ".join(sorted(groups)[:20])
        raise InputError(
            f"--limit {pattern}: selects no hosts (groups: {shown}; names are case-sensitive)"
        )
    return chosen
