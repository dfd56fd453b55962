"""Which guests can run Dynamic Memory on a 2008 R2 SP1 host (Microsoft's SP1 DM guide).

Kept apart from the balancer so the rule is stated once: the guest OS and
edition must be in Microsoft's SP1 list and the integration services must be
at least the SP1 build; everything else never balloons.
"""

from __future__ import annotations

import functools
import re

from hvdyn.sim.state import Guest

SP1_IC_VERSION = (6, 1, 7601, 17514)

_SERVER_EDITIONS = r"(?:standard|enterprise|datacenter|web)"
_SUPPORTED = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"^(?:microsoft )?windows server(?:®|\(r\))? 2008 r2 {_SERVER_EDITIONS}\b",
        rf"^(?:microsoft )?windows server(?:®|\(r\))? 2008 {_SERVER_EDITIONS}\b",
        rf"^(?:microsoft )?windows server(?:®|\(r\))? 2003(?: r2)? {_SERVER_EDITIONS}\b",
        r"^(?:microsoft )?windows 7 (?:enterprise|ultimate)\b",
        r"^(?:microsoft )?windows vista(?:™)? (?:enterprise|ultimate)\b",
    )
)

# KVP OSVersion per OS family, used when a fixture does not give one.
_OS_VERSIONS = (
    ("windows server 2008 r2", "6.1.7601"),
    ("windows 7", "6.1.7601"),
    ("windows server 2008", "6.0.6002"),
    ("windows vista", "6.0.6002"),
    ("windows server 2003", "5.2.3790"),
)


def version_tuple(text: str) -> tuple[int, ...] | None:
    """'6.1.7601.17514' -> (6, 1, 7601, 17514); None when not dotted numbers."""
    parts = text.strip().split(".")
    if not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


# Both are asked for every VM at every balancer pass, with a handful of distinct names.
@functools.lru_cache(maxsize=1024)
def os_supports_dm(os_name: str | None) -> bool:
    return os_name is not None and any(p.search(os_name) for p in _SUPPORTED)


@functools.lru_cache(maxsize=1024)
def ic_supports_dm(ic_version: str | None) -> bool:
    if ic_version is None:
        return False
    version = version_tuple(ic_version)
    return version is not None and version >= SP1_IC_VERSION


def supports_dm(guest: Guest) -> bool:
    """True when this guest has a working DM driver (it can balloon and hot-add)."""
    return os_supports_dm(guest.os) and ic_supports_dm(guest.ic_version)


def default_os_version(os_name: str | None) -> str | None:
    if os_name is None:
        return None
    lowered = os_name.lower()
    for prefix, version in _OS_VERSIONS:
        if prefix in lowered:
            return version
    return None
