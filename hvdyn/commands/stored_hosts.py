"""`--limit PATTERN` for the commands that read stored history (report, recommend).

Why its own matcher: these commands read the store, not an inventory, so a
pattern can only name hosts (the store keeps no groups). The syntax is
inventory `--limit`'s: comma-separated globs, `!pat` removes, `&pat`
intersects; a pattern that matches no stored host is an error that names
the hosts there are.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from hvdyn.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])


def _limit_option(func: F) -> F:
    return click.option(
        "--limit", "--host", "limit", default=None, metavar="PATTERN",
        help="Only these hosts (globs, comma-separated, !excludes; host names only: the "
             "store keeps no groups). --host is an older name for it.")(func)


LIMIT_OPTION = _limit_option


def select_stored_hosts(stored: Sequence[str], limit: str | None) -> list[str]:
    """The stored hosts `limit` selects, sorted; InputError when a pattern matches none."""
    if limit is None or not limit.strip():
        return sorted(stored)
    include: set[str] | None = None
    exclude: set[str] = set()
    intersect: list[set[str]] = []
    unmatched: list[str] = []
    for raw in (p.strip() for p in limit.split(",")):
        if not raw:
            continue
        op, pattern = (raw[0], raw[1:]) if raw[0] in "!&" else ("", raw)
        rx = re.compile(fnmatch.translate(pattern), re.IGNORECASE)
        found = {h for h in stored if rx.match(h)}
        if not found:
            unmatched.append(raw)
        elif op == "!":
            exclude |= found
        elif op == "&":
            intersect.append(found)
        else:
            include = found if include is None else include | found
    if unmatched:
        raise InputError(
            f"no samples yet for {', '.join(unmatched)}: run `hvdyn collect` first "
            f"(hosts with samples: {', '.join(sorted(stored))})")
    selected = set(stored) if include is None else include
    for found in intersect:
        selected &= found
    selected -= exclude
    if not selected:
        raise InputError(f"--limit {limit}: selects no host with samples")
    return sorted(selected)
