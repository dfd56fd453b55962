"""Test oracle: a line-for-line port of PowerShell's single-quoted string scanner.

Source: PowerShell/PowerShell, src/System.Management.Automation/engine/parser/
Tokenizer.cs, ``ScanStringLiteral`` (called from ``NextToken`` after the opening
quote, any ``IsSingleQuote`` char, was consumed), and CharTraits.cs ``IsSingleQuote``::

    char c = GetChar();
    while (true) {
        if (c == '\\0' && AtEof()) { UngetChar(); ReportIncompleteInput(...); break; }
        if (c.IsSingleQuote()) {
            if (!PeekChar().IsSingleQuote()) break;
            c = GetChar();
        }
        sb.Append(c);
        c = GetChar();
    }

So inside '...' the only special characters are the five single quotes; a pair is one
literal quote (the *second* char of the pair is kept). `$`, backtick, double quotes
and newlines are literal. This is independent of tree-sitter, which only knows ASCII '.
"""

from __future__ import annotations

import re

SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")  # CharTraits.IsSingleQuote


class UnterminatedString(ValueError):
    """ReportIncompleteInput(TerminatorExpectedAtEndOfString)."""


def is_single_quote(c: str) -> bool:
    return c in SINGLE_QUOTES


def ps_scan_single_quoted(src: str, start: int) -> tuple[str, int]:
    """Scan the verbatim string literal opening at src[start].

    Returns (value, end) where src[start:end] is the whole literal token.
    Raises UnterminatedString when EOF comes first, ValueError when src[start]
    is not a single-quote character.
    """
    if start >= len(src) or not is_single_quote(src[start]):
        raise ValueError(f"no single quote at index {start}")
    index = start + 1  # NextToken consumed the opening quote

    def get_char() -> str:
        nonlocal index
        c = src[index] if index < len(src) else "\0"
        index += 1
        return c

    def peek_char() -> str:
        return src[index] if index < len(src) else "\0"

    def at_eof() -> bool:
        return index > len(src)

    sb: list[str] = []
    c = get_char()
    while True:
        if c == "\0" and at_eof():
            index -= 1  # UngetChar
            raise UnterminatedString(f"string starting at {start} is not terminated")
        if is_single_quote(c):
            if not is_single_quote(peek_char()):
                break
            c = get_char()
        sb.append(c)
        c = get_char()
    return "".join(sb), index


_CHAR_PIECE = re.compile(r"\[char\]0x([0-9A-Fa-f]{4})")


def ps_string_value(src: str, start: int) -> tuple[str, int]:
    """Value and end of the string expression hvdyn's quoting writes at src[start].

    One verbatim literal (scanned as above), or ``('..' + [char]0xNNNN + ..)``:
    literals and [char] code units joined by `` + ``. Anything else raises
    ValueError. [char] pieces are UTF-16 code units, paired as .NET does.
    """
    if src[start : start + 1] != "(":
        return ps_scan_single_quoted(src, start)
    units: list[str] = []
    pos = start + 1
    while True:
        char = _CHAR_PIECE.match(src, pos)
        if char:
            units.append(chr(int(char.group(1), 16)))
            pos = char.end()
        else:
            value, pos = ps_scan_single_quoted(src, pos)
            units.append(value)
        if src.startswith(")", pos):
            joined = "".join(units).encode("utf-16-le", "surrogatepass")
            return joined.decode("utf-16-le", "surrogatepass"), pos + 1
        if not src.startswith(" + ", pos):
            raise ValueError(f"unexpected text at {pos}: {src[pos:pos + 20]!r}")
        pos += 3
