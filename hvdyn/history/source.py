"""Where `recommend` and `report` read history: the SQLite store or a Prometheus server.

Both give the same row types (`hvdyn.history.rows`), so the commands do not
care which one they read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from hvdyn.history.rows import (
    BalancerRow,
    HostMemoryRow,
    SampleRow,
    VmSettingsRow,
    format_ts,
    parse_ts,
)

# Prometheus is asked for the window plus this much: the window counts back from
# each host's newest sample, which may be a little older than the server's "now".
LOOKBACK_SLACK = timedelta(hours=1)


class HistorySource(Protocol):
    """The reads `recommend` and `report` need (see `hvdyn.history.Store`)."""

    def sample_hosts(self) -> list[str]: ...

    def newest_ts(self, host: str) -> str | None: ...

    def samples(self, *, host: str, since: str | None = None,
                include_ambiguous: bool = True) -> list[SampleRow]: ...

    def balancer_samples(self, *, host: str, since: str | None = None) -> list[BalancerRow]: ...

    def latest_vm_settings(self, *, host: str) -> list[VmSettingsRow]: ...

    def host_memory(self, *, host: str, since: str | None = None) -> list[HostMemoryRow]: ...


@contextmanager
def open_history(state_dir: Path, prometheus_url: str | None, window: timedelta
                 ) -> Iterator[HistorySource]:
    """The store of `state_dir`, or the Prometheus server at `prometheus_url`."""
    if prometheus_url is None:
        from hvdyn.history import open_store

        with open_store(state_dir) as store:
            yield store
        return
    from hvdyn.history.prometheus_source import PrometheusSource

    with PrometheusSource(prometheus_url, lookback=window + LOOKBACK_SLACK) as source:
        yield source


def window_start(source: HistorySource, host: str, since: timedelta) -> str | None:
    """Start of the window `since` back from the host's newest sample; None without samples."""
    newest = source.newest_ts(host)
    return None if newest is None else format_ts(parse_ts(newest) - since)
