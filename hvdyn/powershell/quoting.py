"""The one path from Python values to PowerShell text.

Every script hvdyn writes or sends is pure ASCII (contract): Windows
PowerShell reads a BOM-less file in the machine's ANSI code page, where the
bytes of UTF-8 text turn into other characters (0x82, 0x91, 0x92 are single
quotes in cp1252 and cp1251), so only ASCII means the same in every code
page. A string value is therefore written as printable-ASCII runs in
verbatim ('single-quoted') literals, with ``'`` doubled, joined with
``[char]0xNNNN`` pieces (UTF-16 code units) for everything else, control
characters included: ``('Caf' + [char]0x00E9)``. Inside a verbatim literal
nothing but a quote is special, so no value can end it early. Other types
have their own literal forms; anything else is refused.
`hvdyn.powershell.templates` installs `ps_literal` as the Jinja `finalize`, so
a template cannot emit a value any other way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from hvdyn.core.errors import RenderError

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_DOUBLE_UP = str.maketrans({c: c * 2 for c in SINGLE_QUOTES})
_GUID_RE = re.compile(r"^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")


class PSCode(str):
    """PowerShell text produced by this module; passes through `ps_literal` unchanged.

    Any str operation on it returns a plain str, so text derived from data
    is quoted again. Templates never receive this class.
    """

    __slots__ = ()


def ps_single_quote(text: str) -> str:
    """A PowerShell verbatim string literal whose value is exactly `text`.

    Not ASCII when `text` is not: scripts use `ps_string`, which puts only
    printable ASCII runs in such literals.
    """
    if not isinstance(text, str):
        raise RenderError(f"ps_single_quote wants str, got {type(text).__name__}")
    if "\x00" in text:
        raise RenderError("a NUL character cannot be put in a PowerShell 2.0 literal")
    try:
        text.encode("utf-16-le")
    except UnicodeEncodeError as exc:
        raise RenderError("a lone surrogate cannot be put in a PowerShell literal") from exc
    return "'" + text.translate(_DOUBLE_UP) + "'"


_PRINTABLE_RUN = re.compile(r"[\x20-\x7e]+")


def ps_string(text: str) -> str:
    """ASCII PowerShell expression whose value is exactly `text` (a [string]).

    Plain printable ASCII stays one verbatim literal; anything else becomes a
    parenthesised concatenation that starts with a string literal, so ``+``
    concatenates strings even when the first piece is a ``[char]``.
    """
    ps_single_quote(text)  # the same refusals: NUL, lone surrogates, non-str
    if _PRINTABLE_RUN.fullmatch(text) or not text:
        return "'" + text.replace("'", "''") + "'"
    pieces: list[str] = []
    pos = 0
    for run in _PRINTABLE_RUN.finditer(text):
        pieces.extend(_char_pieces(text[pos : run.start()]))
        pieces.append("'" + run.group().replace("'", "''") + "'")
        pos = run.end()
    pieces.extend(_char_pieces(text[pos:]))
    if not pieces[0].startswith("'"):
        pieces.insert(0, "''")
    return "(" + " + ".join(pieces) + ")"


def _char_pieces(text: str) -> list[str]:
    units = text.encode("utf-16-le")
    return [
        f"[char]0x{int.from_bytes(units[i : i + 2], 'little'):04X}"
        for i in range(0, len(units), 2)
    ]


def is_guid(text: str) -> bool:
    """True for a canonical GUID, the only form allowed into a WQL filter."""
    return _GUID_RE.fullmatch(text) is not None


def ps_literal(value: object) -> PSCode:
    """Typed PowerShell literal for a JSON-shaped Python value."""
    if isinstance(value, PSCode):
        return value
    if isinstance(value, bool):
        return PSCode("$true" if value else "$false")
    if value is None:
        return PSCode("$null")
    if isinstance(value, int):
        # Parenthesised so a negative number never reads as an operator or parameter.
        return PSCode(str(value) if value >= 0 else f"({value})")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RenderError(f"refusing to render non-finite number {value!r}")
        text = repr(value)
        return PSCode(text if value >= 0 else f"({text})")
    if isinstance(value, str):
        return PSCode(ps_string(value))
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise RenderError(f"hashtable keys must be str, got {type(key).__name__}")
            parts.append(f"{ps_string(key)} = {ps_literal(item)}")
        return PSCode("@{" + "; ".join(parts) + "}")
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items = [ps_literal(item) for item in value]
        if len(items) == 1 and isinstance(value[0], Sequence) and not isinstance(value[0], str):
            # @(@(1, 2)) flattens to @(1, 2); the unary comma keeps the nesting.
            return PSCode("@(," + items[0] + ")")
        return PSCode("@(" + ", ".join(items) + ")")
    raise RenderError(f"refusing to render {type(value).__name__} into PowerShell")
