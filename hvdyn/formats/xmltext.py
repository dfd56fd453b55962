"""Text that XML 1.0 accepts: escaped, with characters it forbids made visible.

VM names are data from hosts and may hold control characters, which XML 1.0
cannot carry even escaped (a JUnit or SVG file with one does not parse).
They are written as ``\\xNN`` instead, as the terminal output shows them.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape as _escape
from xml.sax.saxutils import quoteattr as _quoteattr

# Anything outside XML 1.0's Char production.
_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_chars(text: str) -> str:
    """`text` with every character XML 1.0 forbids replaced by a visible escape."""
    return _FORBIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def escape(text: str) -> str:
    return _escape(xml_chars(text))


def quoteattr(text: str) -> str:
    return _quoteattr(xml_chars(text))
