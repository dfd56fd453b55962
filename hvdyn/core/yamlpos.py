"""YAML loading that remembers where every key and value sits in the file.

Policy and inventory errors must point at FILE:LINE:COL, so we compose the
node tree (safe loader only) and build plain Python data ourselves, recording
1-based positions per key path.

Scalars follow YAML 1.2 booleans: only true/false (any case form) are bools.
YAML 1.1 would turn ``state: off`` or ``os: no`` into ``False``, which is a
trap for a file that matches on VM state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hvdyn.core.errors import LocatedError, raise_located
from hvdyn.core.fileio import read_input

KeyPath = tuple[str | int, ...]
_Located = TypeVar("_Located", bound=LocatedError)

_BOOL_TAG = "tag:yaml.org,2002:bool"
_STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("null", "bool", "int", "float", "str", "timestamp", "binary")
)


_MAX_NODES = 200_000
# Nesting deeper than any real policy, inventory or fixture; bounds the recursion
# of building the data (and of validating it) far below Python's stack limit.
MAX_DEPTH = 64
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


# libyaml's composer when PyYAML was built with it (10x faster); same nodes and marks.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe loader with YAML 1.2 booleans (no yes/no/on/off)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line/column in a file."""

    line: int
    col: int


class TaggedText(str):
    """A scalar with a custom tag (Ansible's ``!vault``, ``!unsafe``), kept as its text."""

    tag: str

    def __new__(cls, text: str, tag: str) -> TaggedText:
        obj = super().__new__(cls, text)
        obj.tag = tag
        return obj


def key_str(path: KeyPath) -> str:
    """'rules[2].set.startup' style key path for messages."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(slots=True)
class YamlDoc:
    """Plain data of one YAML document plus the positions of its nodes."""

    file: str
    data: Any
    values: dict[KeyPath, Pos] = field(default_factory=dict)
    keys: dict[KeyPath, Pos] = field(default_factory=dict)
    problems: list[tuple[KeyPath, Pos, str]] = field(default_factory=list)

    def pos(self, path: KeyPath, *, key: bool = False) -> Pos:
        """Position of the key (or value) at `path`, else of its nearest ancestor."""
        p = tuple(path)
        if key and p in self.keys:
            return self.keys[p]
        while p:
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), Pos(1, 1))

    def located(
        self,
        error_cls: type[_Located],
        path: KeyPath,
        message: str,
        allowed: str | None = None,
        *,
        key: bool = False,
        at: KeyPath | None = None,
    ) -> _Located:
        """An error about `path`, placed where it is in the file (or where `at` is).

        `key` points at the key rather than its value (an unknown key); `at`
        points elsewhere, e.g. at the mapping a required key is missing from.
        """
        pos = self.pos(path if at is None else at, key=key)
        return error_cls(self.file, pos.line, pos.col, key_str(path), message, allowed)


def load_yaml(
    path: Path,
    error_cls: type[LocatedError],
    *,
    unknown_tags: str = "error",
) -> YamlDoc:
    """Read `path` into a `YamlDoc`.

    Syntax errors, duplicate keys, non-scalar keys and (when `unknown_tags` is
    "error") custom tags raise `error_cls` / `MultipleInputErrors`. With
    ``unknown_tags="raw"`` a tagged scalar (Ansible's ``!vault``, ``!unsafe``)
    is kept as its raw text.
    """
    file = str(path)
    try:
        text = read_input(path, error_cls).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error_cls(file, 1, 1, "", f"not UTF-8 text ({exc.reason})") from None
    return parse_yaml(text, file, error_cls, unknown_tags=unknown_tags)


def parse_yaml(
    text: str,
    file: str,
    error_cls: type[LocatedError],
    *,
    unknown_tags: str = "error",
) -> YamlDoc:
    """Parse YAML text; see `load_yaml`."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except RecursionError:  # the pure-Python composer, without libyaml
        line, col = _first_too_deep(text)
        raise error_cls(file, line, col, "", _TOO_DEEP) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark and mark.index >= len(text):
            mark = exc.context_mark  # "unexpected end of stream": point at what was left open
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = "YAML syntax error: " + (exc.problem or "invalid YAML")
        if exc.context:
            message += f" ({exc.context})"
        raise error_cls(file, line, col, "", message) from None
    except yaml.YAMLError as exc:  # e.g. several documents in one file
        raise error_cls(file, 1, 1, "", f"YAML error: {exc}") from None
    doc = YamlDoc(file=file, data=None)
    if root is None:
        return doc
    builder = _Builder(doc, unknown_tags == "raw")
    doc.data = builder.build(root, ())
    # In the order they were found (a merged or aliased node may sit earlier in the file).
    raise_located(
        [error_cls(file, p.line, p.col, key_str(kp), msg) for kp, p, msg in doc.problems],
        sort=False,
    )
    return doc


def _first_too_deep(text: str) -> tuple[int, int]:
    """Line and column of the first collection nested deeper than MAX_DEPTH (no recursion)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                mark = event.start_mark
                if depth > MAX_DEPTH and mark is not None:
                    return mark.line + 1, mark.column + 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return 1, 1


def _pos(node: Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node tree into dicts/lists/scalars, recording positions."""

    def __init__(self, doc: YamlDoc, raw_tags: bool) -> None:
        self.doc = doc
        self.raw_tags = raw_tags
        self.constructor = yaml.constructor.SafeConstructor()
        self.open: set[int] = set()  # ids of collection nodes being built (alias cycles)
        self.budget = _MAX_NODES  # bounds alias expansion ("billion laughs")

    def build(self, node: Node, path: KeyPath) -> Any:
        self.doc.values[path] = _pos(node)
        self.budget -= 1
        if self.budget < 0 or id(node) in self.open:
            if self.budget == -1 or id(node) in self.open:
                self.doc.problems.append((path, _pos(node), "recursive or too large alias"))
            return None
        if isinstance(node, MappingNode | SequenceNode):
            if len(self.open) >= MAX_DEPTH:
                self.doc.problems.append((path, _pos(node), _TOO_DEEP))
                return None
            self.open.add(id(node))
            try:
                if isinstance(node, MappingNode):
                    return self._mapping(node, path)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        return self._scalar(node, path)

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        if node.tag not in _STANDARD_TAGS:
            if self.raw_tags:
                return TaggedText(str(node.value), str(node.tag))
            self.doc.problems.append((path, _pos(node), f"unsupported YAML tag {node.tag!r}"))
            return None
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. month 13 in a date
            self.doc.problems.append((path, _pos(node), f"invalid value: {exc}"))
            return None

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        try:
            self.constructor.flatten_mapping(node)  # resolves `<<` merge keys
        except yaml.YAMLError as exc:
            self.doc.problems.append((path, _pos(node), f"invalid merge: {exc}"))
        merged = len(node.value) - own  # merged pairs come first; own keys override them
        out: dict[str, Any] = {}
        from_merge: set[str] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, ScalarNode):
                self.doc.problems.append((path, _pos(key_node), "keys must be plain scalars"))
                continue
            key = str(key_node.value)
            sub = (*path, key)
            if key in from_merge or (index < merged and key in out):
                del out[key]  # a merged value is overridden by a later one
                from_merge.discard(key)
            if index < merged:
                from_merge.add(key)
            if key in out:
                first = self.doc.keys[sub]
                self.doc.problems.append(
                    (sub, _pos(key_node), f"duplicate key (first at line {first.line})")
                )
                continue
            self.doc.keys[sub] = _pos(key_node)
            out[key] = self.build(value_node, sub)
        return out
