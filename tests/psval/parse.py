"""tree-sitter parsing of generated PowerShell, with PowerShell's quote/dash equivalences.

tree-sitter-powershell only knows ASCII quotes and dashes; PowerShell's tokenizer
(CharTraits.IsSingleQuote / IsDoubleQuote / IsDash) treats U+2018..U+201B as ',
U+201C..U+201E as " and U+2013..U+2015 as -, in every context. `normalize_for_parse`
maps them one code point for one, so structure, lines and columns are preserved.
Every structural check must go through `parse()`, never the raw parser.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter as ts
import tree_sitter_powershell as tsp

PS_EQUIV = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
    }
)

LANGUAGE = ts.Language(tsp.language())


@dataclass(frozen=True, slots=True)
class Finding:
    line: int  # 1-based
    col: int  # 1-based, in characters (code points), not bytes
    code: str
    message: str
    snippet: str = ""

    def __str__(self) -> str:
        tail = f" [{self.snippet}]" if self.snippet else ""
        return f"{self.line}:{self.col}: {self.code} {self.message}{tail}"


def normalize_for_parse(src: str) -> str:
    """Map PowerShell's typographic quotes/dashes to ASCII, one code point for one."""
    return src.translate(PS_EQUIV)


@functools.cache
def _parser() -> ts.Parser:
    return ts.Parser(LANGUAGE)


class Parsed:
    """A parsed script: normalised text, its UTF-8 bytes and the tree."""

    __slots__ = ("_line_starts", "data", "src", "text", "tree")

    def __init__(self, src: str) -> None:
        self.src = src
        self.text = normalize_for_parse(src)
        self.data = self.text.encode("utf-8")
        self.tree = _parser().parse(self.data)
        self._line_starts: list[int] | None = None

    @property
    def root(self) -> ts.Node:
        return self.tree.root_node

    def node_text(self, node: ts.Node) -> str:
        """Text of a node in the *original* (unnormalised) source."""
        start = len(self.data[: node.start_byte].decode("utf-8"))
        end = start + len(self.data[node.start_byte : node.end_byte].decode("utf-8"))
        return self.src[start:end]

    def loc(self, node: ts.Node) -> tuple[int, int]:
        """1-based (line, column in characters) of a node's start."""
        row, col_bytes = node.start_point
        line_start = node.start_byte - col_bytes
        col = len(self.data[line_start : node.start_byte].decode("utf-8", "replace"))
        return row + 1, col + 1

    def finding(
        self, node: ts.Node, code: str, message: str, snippet: str | None = None
    ) -> Finding:
        line, col = self.loc(node)
        if snippet is None:
            snippet = first_line(self.node_text(node))
        return Finding(line, col, code, message, snippet)


def first_line(text: str, limit: int = 60) -> str:
    return text.splitlines()[0][:limit] if text else ""


@functools.lru_cache(maxsize=4096)
def parse(src: str) -> Parsed:
    """Normalise then parse (cached by source text: the suite re-checks the same scripts)."""
    return Parsed(src)


def walk(node: ts.Node) -> Iterator[ts.Node]:
    """Iterative pre-order walk of every node (named and anonymous) under `node`."""
    cursor = node.walk()
    depth = 0
    while True:
        yield cursor.node  # type: ignore[misc]
        if cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            if depth == 0 or not cursor.goto_parent():
                return
            depth -= 1


def syntax_errors(src: str | Parsed) -> list[Finding]:
    """ERROR and MISSING nodes as findings (PS0001 syntax error, PS0002 missing token).

    Handles the two grammar gotchas: an ERROR leaf for one unexpected character has
    has_error == False (so test is_error too), and a MISSING *hidden* token is never
    visited by the cursor: its parent has has_error but no child with an error, so
    the parent is reported.
    """
    p = src if isinstance(src, Parsed) else parse(src)
    root = p.root
    if not (root.has_error or root.is_error or root.is_missing):
        return []
    out: list[Finding] = []
    for n in walk(root):
        if not (n.has_error or n.is_error or n.is_missing):
            continue
        if n.is_missing:
            out.append(p.finding(n, "PS0002", f"missing {n.type!r}", ""))
        elif n.is_error:
            out.append(p.finding(n, "PS0001", "syntax error"))
        elif not any(c.has_error or c.is_error or c.is_missing for c in n.children):
            out.append(p.finding(n, "PS0002", f"missing token inside {n.type!r}"))
    return out


def nodes_of_type(p: Parsed, *types: str) -> list[ts.Node]:
    wanted = set(types)
    return [n for n in walk(p.root) if n.type in wanted]
