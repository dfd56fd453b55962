"""`--limit PATTERN` for the commands that read stored history (report, recommend).

Why its own matcher: these commands read the store, not an inventory, so a
pattern can only name hosts (the store keeps no groups). The syntax is
inventory `--limit`'s (Ansible's: `,`/`:`, `!`, `&`, `~regex`, globs,
case-sensitive names); a pattern that matches no stored host is an error that names
the hosts there are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from hvdyn.core.errors import InputError
from hvdyn.inventory.patterns import Selector

F = TypeVar("F", bound=Callable[..., Any])


def _limit_option(func: F) -> F:
    return click.option(
        "--limit", "--host", "limit", default=None, metavar="PATTERN",
        help="Only these hosts (globs, comma-separated, !excludes; host names only: the "
             "store keeps no groups). --host is an older name for it.")(func)


LIMIT_OPTION = _limit_option


def select_stored_hosts(stored: Sequence[str], limit: str | None) -> list[str]:
    """The stored hosts `limit` selects, sorted; InputError when a pattern matches none.

    The grammar is the inventory's (`hvdyn.inventory.patterns`, Ansible's); unlike
    there, a part that matches no stored host is an error: it names a host with no
    history yet, and the message says which hosts have some.
    """
    if limit is None or not limit.strip():
        return sorted(stored)
    selector = Selector(sorted(stored), {})
    selected = selector.select(limit)
    if selector.unmatched:
        raise InputError(
            f"no samples yet for {', '.join(selector.unmatched)}: run `hvdyn collect` first "
            f"(hosts with samples: {', '.join(sorted(stored))})")
    if not selected:
        raise InputError(f"--limit {limit}: selects no host with samples")
    return sorted(selected)
