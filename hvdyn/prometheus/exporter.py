"""`hvdyn exporter`: collect in the background, serve the newest values on /metrics.

Each host has its own schedule: it is collected every interval (by
`hvdyn.run.collect.Collector`, the same discover + collect scripts, transports,
deadlines and credentials as `hvdyn collect`, and into the same store), at
most `forks` hosts at once. A host that is slow or down only delays itself.
A scrape reads the newest finished batch of every host from memory and never
waits on a host; a host whose collection failed keeps its last values with
`hvdyn_up 0` until one succeeds again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from hvdyn.analysis.audit import AuditReport
from hvdyn.core.findings import Kind
from hvdyn.core.model import HostSpec
from hvdyn.history import Store, store_path
from hvdyn.history.rows import BalancerRow, HostMemoryRow, SampleRow, VmSettingsRow
from hvdyn.run.collect import Collector, CollectResult
from hvdyn.transport import Transport

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class HostBatch:
    """One host's newest collected rows (what the store was given)."""

    samples: tuple[SampleRow, ...]
    balancer: tuple[BalancerRow, ...]
    memory: HostMemoryRow | None
    settings: tuple[VmSettingsRow, ...]

    @property
    def sample_ts(self) -> str | None:
        times = [s.ts for s in self.samples] + [b.ts for b in self.balancer]
        return max(times) if times else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditView:
    """What the gauges need of one host's audit (not its samples: a day of them is big)."""

    findings: tuple[tuple[str, int], ...]  # (finding id, count), sorted
    drift: tuple[tuple[str, str, int], ...]  # (VM name, VM id upper case, settings drifted)
    success: bool
    overcommit: float | None

    @classmethod
    def of(cls, report: AuditReport, host: str) -> AuditView:
        counts = Counter(f.id for f in report.findings if f.host == host)
        per_vm = Counter(f.vm_id.upper() for f in report.findings
                         if f.kind is Kind.DRIFT and f.vm_id and f.host == host)
        audits = [h for h in report.hosts if h.host == host]
        vms = [vm for h in audits for vm in (h.facts.vms if h.facts is not None else ())]
        return cls(
            findings=tuple(sorted(counts.items())),
            drift=tuple((vm.name, vm.id.upper(), per_vm[vm.id.upper()]) for vm in vms),
            success=bool(audits) and not any(h.failed for h in audits),
            overcommit=next((h.overcommit for h in audits if h.overcommit is not None), None),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HostView:
    """What /metrics shows for one host."""

    host: str
    batch: HostBatch | None = None  # newest successful collection, kept when later ones fail
    up: bool = False
    attempted_at: float | None = None  # Unix time the newest attempt ended
    succeeded_at: float | None = None
    duration_s: float | None = None
    collections: int = 0
    failures: int = 0
    error: str | None = None
    audit: AuditView | None = None
    audited_at: float | None = None


class CapturingStore(Store):
    """The state dir's store that also keeps each host's newest batch for /metrics."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._batches: dict[str, HostBatch] = {}
        self._batch_lock = threading.Lock()

    def add_collection(
        self,
        *,
        samples: Sequence[SampleRow],
        balancer: Sequence[BalancerRow],
        host_memory: Sequence[HostMemoryRow],
        vm_settings: Sequence[VmSettingsRow] = (),
        roll_up: bool = True,
    ) -> int:
        changed = super().add_collection(samples=samples, balancer=balancer,
                                         host_memory=host_memory, vm_settings=vm_settings,
                                         roll_up=roll_up)
        hosts = ({s.host for s in samples} | {b.host for b in balancer}
                 | {h.host for h in host_memory} | {v.host for v in vm_settings})
        if len(hosts) != 1:
            return changed
        batch = HostBatch(samples=tuple(samples), balancer=tuple(balancer),
                          memory=host_memory[-1] if host_memory else None,
                          settings=tuple(vm_settings))
        with self._batch_lock:
            self._batches[hosts.pop()] = batch
        return changed

    def __enter__(self) -> CapturingStore:
        return self

    def take_batch(self, host: str) -> HostBatch | None:
        with self._batch_lock:
            return self._batches.pop(host, None)


def open_capturing_store(state_dir: Path) -> CapturingStore:
    return CapturingStore(store_path(state_dir))


AuditHost = Callable[[HostSpec], AuditReport]


@dataclass(kw_only=True)
class Schedule:
    interval_s: float
    forks: int
    audit_every_s: float = 900.0
    keep: timedelta | None = None
    prune_every_s: float = 3600.0
    stop_grace_s: float = 5.0  # on stop, wait this long for collections in flight


@dataclass
class _Views:
    lock: threading.Lock = field(default_factory=threading.Lock)
    by_host: dict[str, HostView] = field(default_factory=dict)


class Exporter:
    """Background collection of hosts into views the metrics collector reads."""

    def __init__(
        self,
        hosts: Sequence[HostSpec],
        store: CapturingStore,
        transport_for: Callable[[HostSpec], Transport],
        schedule: Schedule,
        *,
        sim_step_s: int,
        audit_host: AuditHost | None = None,
        log: Log = lambda message: None,
    ) -> None:
        self._hosts = list(hosts)
        self._store = store
        self._collector = Collector(store, transport_for, samples=1, interval_s=sim_step_s)
        self._schedule = schedule
        self._audit_host = audit_host
        self._log = log
        self._views = _Views(by_host={h.name: HostView(host=h.name) for h in self._hosts})

    # ------------------------------------------------------------ reading

    def views(self) -> list[HostView]:
        with self._views.lock:
            return [self._views.by_host[h.name] for h in self._hosts]

    # ------------------------------------------------------------ one host

    def collect_host(self, spec: HostSpec) -> HostView:
        """Collect one host (and audit it when due); the view is updated and returned."""
        started = time.monotonic()
        try:
            result = self._collector.run([spec], 1)[0]
        except Exception as exc:  # a bug must not stop this host's schedule for good
            result = CollectResult(host=spec.name, ok=False, error=f"internal error: {exc!r}")
        batch = self._store.take_batch(spec.name)  # taken either way: never a stale one later
        ended = time.time()
        duration = time.monotonic() - started
        with self._views.lock:
            old = self._views.by_host[spec.name]
            ok = result.ok and batch is not None
            view = replace(
                old,
                batch=batch if ok else old.batch,
                up=ok,
                attempted_at=ended,
                succeeded_at=ended if ok else old.succeeded_at,
                duration_s=duration,
                collections=old.collections + 1,
                failures=old.failures + (0 if ok else 1),
                error=None if ok else (result.error or "no samples"),
            )
            self._views.by_host[spec.name] = view
        if view.up != old.up or (not view.up and old.collections == 0):
            self._log(f"{spec.name}: " + ("collecting" if view.up else f"down: {view.error}"))
        if self._audit_host is not None and (
            view.audited_at is None or ended - view.audited_at >= self._schedule.audit_every_s
        ):
            view = self._audit(spec)
        return view

    def _audit(self, spec: HostSpec) -> HostView:
        assert self._audit_host is not None
        try:
            report = self._audit_host(spec)
        except Exception as exc:
            self._log(f"{spec.name}: audit failed: {exc}")
            return self.views()[self._hosts.index(spec)]
        with self._views.lock:
            view = replace(self._views.by_host[spec.name], audit=AuditView.of(report, spec.name),
                           audited_at=time.time())
            self._views.by_host[spec.name] = view
        return view

    # ------------------------------------------------------------ schedules

    def collect_all(self) -> list[HostView]:
        """Every host once, `forks` at a time (`--once`)."""
        from hvdyn.run.runtime import fan_out

        return fan_out(self._hosts, self.collect_host, self._schedule.forks)

    def run(self, stop: threading.Event) -> list[str]:
        """Collect every host every interval until `stop` is set.

        A host is started when it is due and a slot is free; one still running
        when it is due again is started as soon as it finishes. On stop it
        waits `stop_grace_s` for collections in flight and returns the hosts
        still collecting: the caller must not wait for them (the collector's
        thread pools are joined at interpreter exit, so a host stuck until its
        deadline would hold the process past systemd's stop timeout).
        """
        slots = threading.BoundedSemaphore(max(1, self._schedule.forks))
        busy: set[str] = set()
        busy_lock = threading.Lock()
        due = {h.name: time.monotonic() for h in self._hosts}
        next_prune = time.monotonic() + self._schedule.prune_every_s

        def work(spec: HostSpec) -> None:
            try:
                self.collect_host(spec)
            finally:
                with busy_lock:
                    busy.discard(spec.name)
                slots.release()

        while not stop.is_set():
            now = time.monotonic()
            for spec in sorted(self._hosts, key=lambda h: due[h.name]):  # most overdue first
                with busy_lock:
                    if spec.name in busy or due[spec.name] > now:
                        continue
                if not slots.acquire(blocking=False):
                    break
                with busy_lock:
                    busy.add(spec.name)
                due[spec.name] = max(due[spec.name] + self._schedule.interval_s, now)
                threading.Thread(target=work, args=(spec,), daemon=True,
                                 name=f"hvdyn-exporter-{spec.name}").start()
            if self._schedule.keep is not None and now >= next_prune:
                next_prune = now + self._schedule.prune_every_s
                self._prune()
            wait = min(due.values()) - time.monotonic()
            stop.wait(min(max(wait, 0.05), 1.0))
        deadline = time.monotonic() + self._schedule.stop_grace_s
        while time.monotonic() < deadline:  # let collections in flight finish their write
            with busy_lock:
                if not busy:
                    break
            time.sleep(0.05)
        with busy_lock:
            return sorted(busy)

    def _prune(self) -> None:
        assert self._schedule.keep is not None
        try:
            deleted = self._store.prune(self._schedule.keep)
        except Exception as exc:
            self._log(f"prune failed: {exc}")
            return
        if any(deleted.values()):
            self._log("pruned: " + ", ".join(f"{n} {t}" for t, n in deleted.items() if n))

