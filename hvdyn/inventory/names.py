"""Host keys as Ansible reads them: ``host:port`` and ``[01:20]``/``[a:c]``/``[1:9:2]`` ranges.

Follows ansible-core's ``parse_address`` and ``expand_hostname_range``
(ansible/parsing/utils/addresses.py, ansible/inventory/helpers.py): a range
with a leading zero keeps its width, letters range over a-zA-Z, and several
ranges in one key multiply.
"""

from __future__ import annotations

import re
import string

MAX_EXPANDED = 100_000  # hosts one key may expand to; more is a typo, not a fleet

_BRACKETED_PORT = re.compile(r"^\[(.+)\]:(\d+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])+):(\d+)$")


class RangeError(ValueError):
    """A host key with a malformed range; the message says what is wrong."""


def split_port(key: str) -> tuple[str, int | None]:
    """``"hv01:5986"`` -> ``("hv01", 5986)``; IPv6 without brackets keeps its colons."""
    match = _BRACKETED_PORT.match(key)
    if match and ":" in match.group(1) and "[" not in match.group(1):
        return match.group(1), int(match.group(2))
    match = _HOST_PORT.match(key)
    if match:
        return match.group(1), int(match.group(2))
    return key, None


def expand(pattern: str) -> list[str]:
    """Every host name a key stands for (itself when it has no range)."""
    if "[" not in pattern:
        return [pattern]
    out: list[str] = []
    _expand(pattern, out)
    return out


def _expand(pattern: str, out: list[str]) -> None:
    head, _, rest = pattern.partition("[")
    body, closed, tail = rest.partition("]")
    if not closed:
        raise RangeError(f"host range in {pattern!r} is not closed with ']'")
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise RangeError("host range must be begin:end or begin:end:step")
    begin, end = bounds[0] or "0", bounds[1]
    if not end:
        raise RangeError("host range must specify end value")
    step_text = bounds[2] if len(bounds) == 3 else "1"
    try:
        step = int(step_text)
    except ValueError:
        raise RangeError(f"host range step {step_text!r} is not a number") from None
    if step < 1:
        raise RangeError("host range step must be 1 or more")
    width = 0
    if begin[0] == "0" and len(begin) > 1:
        if len(begin) != len(end):
            raise RangeError("host range must specify equal-length begin and end formats")
        width = len(begin)
    seq: list[str]
    if begin in string.ascii_letters and end in string.ascii_letters:
        first, last = string.ascii_letters.index(begin), string.ascii_letters.index(end)
        if first > last:
            raise RangeError("host range must have begin <= end")
        seq = list(string.ascii_letters[first : last + 1 : step])
    else:
        try:
            low, high = int(begin), int(end)
        except ValueError:
            raise RangeError(f"host range [{body}] is neither numbers nor letters") from None
        if (high - low) // step + 1 > MAX_EXPANDED:
            raise RangeError(f"host range [{body}] expands to more than {MAX_EXPANDED} hosts")
        seq = [str(n).zfill(width) for n in range(low, high + 1, step)]
    for item in seq:
        name = f"{head}{item}{tail}"
        if "[" in name:
            _expand(name, out)
        else:
            out.append(name)
        if len(out) > MAX_EXPANDED:
            raise RangeError(f"host key expands to more than {MAX_EXPANDED} hosts")
