"""Which stored hosts report and recommend read: --limit, --prometheus-url, the check.

Why its own selection: these commands read the store, not an inventory, so a
pattern can only name hosts (the store keeps no groups). The syntax is
inventory `--limit`'s (Ansible's: `,`/`:`, `!`, `&`, `~regex`, globs,
case-sensitive names); a pattern that matches no stored host is an error that names
the hosts there are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hvdyn.cli.options import state_dir_of
from hvdyn.core.errors import InputError
from hvdyn.history import store_path
from hvdyn.inventory.patterns import Selector

if TYPE_CHECKING:
    from hvdyn.history.source import HistorySource

F = TypeVar("F", bound=Callable[..., Any])


def _limit_option(func: F) -> F:
    return click.option(
        "--limit", "--host", "limit", default=None, metavar="PATTERN",
        help="Only these hosts (globs, comma-separated, !excludes; host names only: the "
             "store keeps no groups). --host is an older name for it.")(func)


LIMIT_OPTION = _limit_option

PROMETHEUS_URL_OPTION = click.option(
    "--prometheus-url", default=None, metavar="URL",
    help="Read the history from this Prometheus server (fed by `hvdyn exporter`) "
         "instead of the state dir's store.")


def history_where(state_dir: Path | None, prometheus_url: str | None) -> str:
    """The history read, for messages: the Prometheus URL or the store's path."""
    return prometheus_url or str(store_path(state_dir_of(state_dir)))


def hosts_with_history(source: HistorySource, where: str, limit: str | None) -> list[str]:
    """Hosts with history selected by --limit; an input error when there are none."""
    stored = source.sample_hosts()
    if not stored:
        hint = ("run `hvdyn exporter` for it to scrape" if where.startswith("http")
                else "run `hvdyn collect` first")
        raise InputError(f"no samples yet in {where}: {hint}")
    return select_stored_hosts(stored, limit)


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
