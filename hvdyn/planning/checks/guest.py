"""What the guest OS and its integration services support on 2008 R2 SP1.

The VM checks use these, and so do the audit (HVD140) and whatif, which must
judge a guest exactly as a plan would.
"""

from __future__ import annotations

import functools
import re

MIN_IC_VERSION = (6, 1, 7601, 17514)  # SP1 integration services (Dynamic Memory VSC)

# Guests Microsoft lists for Dynamic Memory on 2008 R2 SP1:
# name pattern -> whether the edition needs the hot-add update.
_SUPPORTED_GUESTS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(r"^windows server 2008 r2 (enterprise|datacenter)\b"), False),
    (re.compile(r"^windows server 2008 r2 (standard|web)\b"), True),
    (re.compile(r"^windows server 2008 (enterprise|datacenter)\b"), False),
    (re.compile(r"^windows server 2008 (standard|web)\b"), True),
    (re.compile(r"^windows server 2003( r2)?,? (enterprise|datacenter)\b"), False),
    (re.compile(r"^windows server 2003( r2)?,? (standard|web)\b"), True),
    (re.compile(r"^windows 7 (enterprise|ultimate)\b"), False),
    (re.compile(r"^windows vista\W* (enterprise|ultimate)\b"), False),
)


_MARKS = re.compile(r"\(r\)|\(tm\)|[®™]")
_BLANKS = re.compile(r"\s+")


# Called several times per VM with a fleet's handful of OS names.
@functools.lru_cache(maxsize=1024)
def normalise_os_name(name: str) -> str:
    """Lower-case OS name without trademark marks and doubled blanks."""
    cleaned = _MARKS.sub("", name.lower())
    return _BLANKS.sub(" ", cleaned).strip()


@functools.lru_cache(maxsize=1024)
def guest_dm_support(os_name: str | None) -> bool | None:
    """True/False when the guest OS is (not) on the SP1 DM list; None when unknown."""
    if not os_name:
        return None
    name = normalise_os_name(os_name)
    return any(p.match(name) for p, _ in _SUPPORTED_GUESTS)


@functools.lru_cache(maxsize=1024)
def needs_hotadd_update(os_name: str) -> bool:
    name = normalise_os_name(os_name)
    return any(p.match(name) and needs for p, needs in _SUPPORTED_GUESTS)


@functools.lru_cache(maxsize=1024)  # a fleet has a handful of integration services builds
def version_tuple(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        return None
