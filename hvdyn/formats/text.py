"""Text from hosts and guests made safe to print on a terminal."""

from __future__ import annotations


def printable(text: str) -> str:
    """A VM name safe for a terminal: control characters shown as escapes."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
