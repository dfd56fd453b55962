"""stderr of powershell.exe over WinRS: `#< CLIXML` serialised streams -> error text.

Done the Ansible/pypsrp way: each ``<Objs>`` block parsed on its own, only
``S="Error"`` strings kept (progress, warnings and verbose dropped), every
``_xHHHH_`` escape decoded, surrogate pairs joined. Text outside the blocks
is kept as is.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

MARKER = "#< CLIXML"
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clixml_errors(stderr: str) -> str:
    """Readable stderr: CLIXML error strings decoded, other streams dropped."""
    if MARKER not in stderr:
        return stderr
    rest = stderr.replace(MARKER, "")
    plain: list[str] = []
    errors: list[str] = []
    while True:
        start = rest.find("<Objs")
        end = rest.find("</Objs>", start)
        if start == -1 or end == -1:
            plain.append(rest)
            break
        plain.append(rest[:start])
        block = rest[start : end + len("</Objs>")]
        rest = rest[end + len("</Objs>") :]
        try:
            root = ET.fromstring(block)
        except ET.ParseError:
            plain.append(block)
            continue
        for node in root.iter():
            if node.tag.rsplit("}", 1)[-1] == "S" and node.attrib.get("S") == "Error":
                errors.append(_unescape(node.text or ""))
    text = "".join(p for p in plain if p.strip()) + "".join(errors)
    return text.strip("\r\n") + ("\r\n" if text.strip() else "")
