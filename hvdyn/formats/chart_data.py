"""What the report charts draw, read from the store: settings over time and change events.

Why here and not in the store: these are the charts' questions ("what were
a VM's startup and maximum on that day", "where on this host's time axis
did apply run 7 happen"), answered from the store's settings history
(`Store.settings_history`) and its journal.

Times: samples and settings carry the *host's* clock; runs and the journal
this machine's wall clock (see `hvdyn.history`). An apply is placed on the
host's axis with the clock offset seen by the collect run nearest before it
(the newest sample it stored minus the wall time it finished). For a real
host the offset is about zero; simulated hosts run their own calendar, and
the offset maps the apply between the collects around it.

Both readers are bounded by the window: a store of 90 days of 5-minute
collects holds a million settings rows per 40-VM host.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hvdyn.core.vocab import CHANGING_RUNS
from hvdyn.history import Store
from hvdyn.history.resolution import chart_balancer, chart_samples
from hvdyn.history.rows import BalancerRow, SampleRow, parse_ts
from hvdyn.history.source import HistorySource, window_start


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsInterval:
    """A VM's settings from `start` until `end` (None: still so at the newest collect)."""

    vm_id: str
    vm_name: str
    start: datetime
    end: datetime | None
    dynamic: bool
    startup_mb: int
    maximum_mb: int
    buffer: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeEvent:
    """An apply or rollback that changed VMs of a host, placed on the host's clock."""

    run_id: int
    command: str
    at: datetime  # host clock
    vm_ids: frozenset[str]  # upper-case GUIDs the run journaled on this host
    outcome: str | None

    @property
    def label(self) -> str:
        return f"{self.command} {self.run_id}"


def by_vm(samples: Sequence[SampleRow]) -> dict[str, list[SampleRow]]:
    """Attributable samples per VM id (upper case), VMs ordered by name."""
    groups: dict[str, list[SampleRow]] = defaultdict(list)
    for s in samples:
        if s.vm_id is not None and not s.ambiguous:
            groups[s.vm_id.upper()].append(s)
    return dict(sorted(groups.items(), key=lambda kv: kv[1][-1].vm_name.lower()))


def settings_timeline(store: Store, host: str, since: str | None, until: str | None
                      ) -> list[SettingsInterval]:
    """One interval per VM per distinct run of settings, overlapping [since, until].

    The store keeps a row per change of any setting (state and guest OS
    included): changes the charts do not draw merge into one interval; an
    interval ends where the next different one starts.
    """
    by_vm: dict[str, list[SettingsInterval]] = {}
    for row in store.settings_history(host, since, until):
        vm_id = row.vm_id.upper()
        spans = by_vm.setdefault(vm_id, [])
        start = parse_ts(row.start)
        key = (bool(row.dynamic), row.startup_mb, row.maximum_mb, row.buffer)
        if spans:
            last = spans[-1]
            if (last.dynamic, last.startup_mb, last.maximum_mb, last.buffer) == key:
                if last.vm_name != row.vm_name:
                    spans[-1] = _replace(last, vm_name=row.vm_name)
                continue
            spans[-1] = _replace(last, end=start)
        spans.append(SettingsInterval(vm_id=vm_id, vm_name=row.vm_name, start=start, end=None,
                                      dynamic=bool(row.dynamic), startup_mb=row.startup_mb,
                                      maximum_mb=row.maximum_mb, buffer=row.buffer))
    low = parse_ts(since) if since else None
    high = parse_ts(until) if until else None
    return [
        span for spans in by_vm.values() for span in spans
        if (low is None or span.end is None or span.end >= low)
        and (high is None or span.start <= high)
    ]


def _replace(span: SettingsInterval, **changes: object) -> SettingsInterval:
    values = {name: getattr(span, name) for name in SettingsInterval.__slots__}
    values.update(changes)
    return SettingsInterval(**values)


def change_events(store: Store, host: str, samples: Sequence[SampleRow]) -> list[ChangeEvent]:
    """Applies and rollbacks that journaled a change on `host` between the collects of
    `samples` (the window's), oldest first, each placed on the host's clock.

    The offset comes from the collect nearest before the run (by run id: the stamps have
    whole seconds): its newest sample minus the wall time it finished. A run before the
    window's first collect or after its last cannot be on the window's axis.
    """
    newest: dict[int, str] = {}
    for sample in samples:
        if sample.run_id is not None and sample.ts > newest.get(sample.run_id, ""):
            newest[sample.run_id] = sample.ts
    if not newest:
        return []
    runs = {r.id: r for r in store.runs(limit=1_000_000)}
    collects = sorted(i for i in newest if i in runs and runs[i].finished)
    events: list[ChangeEvent] = []
    for run in sorted((r for r in runs.values() if r.command in CHANGING_RUNS
                       and collects and collects[0] < r.id < max(newest)),
                      key=lambda r: r.id):
        rows = [j for j in store.journal(run.id) if j.host == host]
        before = [i for i in collects if i < run.id]
        if not rows or not before:
            continue
        collect = runs[before[-1]]
        offset = parse_ts(newest[collect.id]) - parse_ts(collect.finished or collect.started)
        events.append(ChangeEvent(
            run_id=run.id, command=run.command, outcome=run.outcome,
            at=parse_ts(rows[0].created) + offset,
            vm_ids=frozenset(j.vm_id.upper() for j in rows)))
    return events


@dataclass(frozen=True, slots=True, kw_only=True)
class HostHistory:
    """Everything the report draws for one host over its window (host clock)."""

    host: str
    start: str | None  # window start; None when the host has no samples
    newest: str | None
    samples: list[SampleRow]
    balancer: list[BalancerRow]
    timelines: dict[str, list[SettingsInterval]]  # VM id (upper case) -> oldest first
    events: list[ChangeEvent]
    vm_rows: dict[str, list[SampleRow]]  # `by_vm(samples)`, computed once
    span: tuple[datetime, datetime] | None  # the time axis: the window, cut to the samples


def _latest_only(source: HistorySource, host: str, start: str | None
                 ) -> list[SettingsInterval]:
    """A source without settings history or journal: each VM's newest settings, held
    over the whole window (Prometheus keeps only what the exporter served)."""
    begin = parse_ts(start) if start else datetime.min.replace(tzinfo=UTC)
    return [SettingsInterval(vm_id=row.vm_id.upper(), vm_name=row.vm_name, start=begin,
                             end=None, dynamic=bool(row.dynamic), startup_mb=row.startup_mb,
                             maximum_mb=row.maximum_mb, buffer=row.buffer)
            for row in source.latest_vm_settings(host=host)]


def host_history(store: HistorySource, host: str, since: timedelta) -> HostHistory:
    start = window_start(store, host, since)
    newest = store.newest_ts(host)
    timelines: dict[str, list[SettingsInterval]] = {}
    if isinstance(store, Store):  # the store keeps settings history and the journal
        spans = settings_timeline(store, host, start, newest)
    else:
        spans = _latest_only(store, host, start)
    for interval in spans:
        timelines.setdefault(interval.vm_id, []).append(interval)
    if isinstance(store, Store):  # raw for short windows, hourly/daily rollups beyond
        samples = chart_samples(store, host, since)
        balancer = chart_balancer(store, host, since)
    else:
        samples = store.samples(host=host, since=start, include_ambiguous=False)
        balancer = store.balancer_samples(host=host, since=start)
    times = [s.ts for s in samples] + [b.ts for b in balancer]
    span = None
    if start is not None and newest is not None and times:
        span = max(parse_ts(start), parse_ts(min(times))), parse_ts(newest)
    return HostHistory(
        host=host, start=start, newest=newest, samples=samples,
        balancer=balancer, timelines=timelines,
        events=change_events(store, host, samples) if isinstance(store, Store) else [],
        vm_rows=by_vm(samples), span=span)
