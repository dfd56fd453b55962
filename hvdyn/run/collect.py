"""Collect Dynamic Memory counters from hosts into the store.

Per host, in its own worker: discover (current settings, so history can be
read against startup/maximum later without contacting hosts), then the
`collect` script, as many times as the requested samples need: each script
carries at most `samples_per_script` samples (bounded by output size and by
an hour of sampling), and its records are stored as soon as it returns, so a
run killed or failing halfway keeps every script's samples that came back.
A counter instance is mapped to a VM by the GUIDs the script lists for its
display name: none or several GUIDs make the samples *ambiguous* (stored,
flagged, never used for a VM's health or advice).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hvdyn.core.errors import HvdynError, TransportError
from hvdyn.core.model import HostFacts, HostSpec
from hvdyn.history import BALANCER_COUNTER_COLUMNS, VM_COUNTER_COLUMNS, Store
from hvdyn.history.rows import (
    BalancerRow,
    HostMemoryRow,
    SampleRow,
    VmSettingsRow,
    normalise_ts,
    now_ts,
)
from hvdyn.powershell.params import collect_params
from hvdyn.powershell.records import BalancerRecord, HostRecord, ParsedOutput, SampleRecord
from hvdyn.powershell.templates import render_script
from hvdyn.run.runtime import discover, fan_out, run_script
from hvdyn.transport import Transport

COLLECT_SLACK_S = 300.0
OUTPUT_BUDGET_CHARS = 8 * 1024 * 1024  # per script; the parser refuses more than 64 MiB
RECORD_CHARS = 1024  # a sample record is ~400 characters; leave room for long names
SCRIPT_SPAN_S = 3600  # at most an hour of sampling is at stake in one script

Progress = Callable[[str, int, int], None]  # host, samples stored so far, samples wanted


def samples_per_script(vms: int, interval_s: int) -> int:
    """How many samples one collect script may carry for a host with `vms` VMs."""
    by_size = OUTPUT_BUDGET_CHARS // ((vms + 1) * RECORD_CHARS)
    by_time = SCRIPT_SPAN_S // max(1, interval_s)
    return max(1, min(by_size, by_time))


def _no_progress(host: str, done: int, total: int) -> None:
    """Collect without a progress display."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectResult:
    """One host's collection: what was stored, or why nothing was."""

    host: str
    ok: bool
    samples: int = 0  # VM sample rows stored
    vms: int = 0  # distinct VMs with unambiguous samples
    balancer: int = 0
    ambiguous: tuple[str, ...] = ()  # display names whose counters map to 0 or 2+ VMs
    warnings: tuple[str, ...] = ()  # script-level errors that did not stop collection
    first_ts: str | None = None
    last_ts: str | None = None
    error: str | None = None
    scripts: int = 0  # collect scripts whose samples were stored


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    samples: list[SampleRow]
    balancer: list[BalancerRow]
    host_memory: list[HostMemoryRow]
    vm_settings: list[VmSettingsRow]
    ambiguous: tuple[str, ...]


def _split(counters: Mapping[str, int | None], known: Mapping[str, str]
           ) -> tuple[dict[str, int | None], dict[str, object]]:
    columns = {col: counters.get(prop) for prop, col in known.items()}
    extra: dict[str, object] = {k: v for k, v in counters.items() if k not in known}
    return columns, extra


def sample_row(host: str, record: SampleRecord, run_id: int | None) -> SampleRow:
    columns, extra = _split(record.counters, VM_COUNTER_COLUMNS)
    ambiguous = len(record.ids) != 1
    if ambiguous:
        extra = {**extra, "_ids": list(record.ids)}
    return SampleRow(
        host=host,
        vm_id=None if ambiguous else record.ids[0].upper(),
        vm_name=record.name,
        ts=normalise_ts(record.ts),
        extra=json.dumps(extra, sort_keys=True),
        ambiguous=ambiguous,
        run_id=run_id,
        **columns,
    )


def batch_from(
    host: str, parsed: ParsedOutput, facts: HostFacts | None, run_id: int | None
) -> Batch:
    """Turn a collect stream (and the discovery before it) into store rows."""
    samples = [sample_row(host, r, run_id) for r in parsed.of_type(SampleRecord)]
    balancer: list[BalancerRow] = []
    for record in parsed.of_type(BalancerRecord):
        columns, extra = _split(record.counters, BALANCER_COUNTER_COLUMNS)
        balancer.append(BalancerRow(host=host, name=record.name, ts=normalise_ts(record.ts),
                                    extra=json.dumps(extra, sort_keys=True), run_id=run_id,
                                    **columns))
    times = [s.ts for s in samples] + [b.ts for b in balancer]
    last = max(times) if times else now_ts()
    memory = [
        HostMemoryRow(host=host, ts=last, total_mb=h.total_mb, free_mb=h.free_mb,
                      reserve_mb=h.reserve_mb, run_id=run_id)
        for h in parsed.of_type(HostRecord)
    ]
    first = min(times) if times else last
    settings = [] if facts is None else [
        VmSettingsRow(
            host=host, vm_id=vm.id.upper(), vm_name=vm.name, ts=first, state=int(vm.state),
            dynamic=vm.memory.dynamic, startup_mb=vm.memory.startup_mb,
            minimum_mb=vm.memory.minimum_mb, maximum_mb=vm.memory.maximum_mb,
            buffer=vm.memory.buffer, weight=vm.memory.weight, os=vm.guest.os_name,
            arch=vm.guest.arch, run_id=run_id,
        )
        for vm in facts.vms
    ]
    ambiguous = tuple(sorted({s.vm_name for s in samples if s.ambiguous}))
    return Batch(samples=samples, balancer=balancer, host_memory=memory,
                 vm_settings=settings, ambiguous=ambiguous)


def collect_timeout(samples: int, interval_s: int) -> float:
    return samples * interval_s + COLLECT_SLACK_S


class Collector:
    """Runs discover + collect on each host and stores the batches."""

    def __init__(
        self,
        store: Store,
        transport_for: Callable[[HostSpec], Transport],
        *,
        samples: int,
        interval_s: int,
        run_id: int | None = None,
        progress: Progress = _no_progress,
    ) -> None:
        self._store = store
        self._transport_for = transport_for
        self._samples = samples
        self._interval_s = interval_s
        self._run_id = run_id
        self._progress = progress

    def run(self, hosts: Sequence[HostSpec], forks: int) -> list[CollectResult]:
        return sorted(fan_out(hosts, self._guarded, forks), key=lambda r: r.host)

    def _guarded(self, spec: HostSpec) -> CollectResult:
        try:
            return self._one(spec)
        except TransportError as exc:
            return CollectResult(host=spec.name, ok=False, error=f"unreachable: {exc}")
        except HvdynError as exc:
            return CollectResult(host=spec.name, ok=False, error=str(exc))

    def _one(self, spec: HostSpec) -> CollectResult:
        transport = self._transport_for(spec)
        tally = _Tally(spec.name)
        try:
            facts = discover(transport, spec)
            per_script = samples_per_script(len(facts.vms), self._interval_s)
            self._progress(spec.name, 0, self._samples)
            while tally.samples_done < self._samples:
                count = min(per_script, self._samples - tally.samples_done)
                script = render_script(
                    "collect", collect_params(spec.name, samples=count,
                                              interval_s=self._interval_s))
                try:
                    parsed = run_script(transport, spec, script,
                                        timeout_s=collect_timeout(count, self._interval_s))
                except HvdynError as exc:
                    if not tally.scripts:
                        raise
                    return tally.result(error=f"stopped after {tally.samples_done} of "
                                              f"{self._samples} samples (kept): {exc}")
                batch = batch_from(spec.name, parsed, facts if not tally.scripts else None,
                                   self._run_id)
                warnings = tuple(e.message for e in parsed.script_errors)
                if warnings and not batch.samples and not batch.balancer:
                    return tally.result(error="; ".join(warnings))
                self._store.add_collection(samples=batch.samples, balancer=batch.balancer,
                                           host_memory=batch.host_memory,
                                           vm_settings=batch.vm_settings)
                tally.add(batch, warnings, count)
                self._progress(spec.name, tally.samples_done, self._samples)
        finally:
            transport.close()
        return tally.result()


class _Tally:
    """What the scripts of one host stored so far."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.scripts = 0
        self.samples_done = 0  # sampling rounds
        self.rows = 0
        self.balancer = 0
        self.vms: set[str] = set()
        self.ambiguous: set[str] = set()
        self.warnings: list[str] = []
        self.times: list[str] = []

    def add(self, batch: Batch, warnings: tuple[str, ...], rounds: int) -> None:
        self.scripts += 1
        self.samples_done += rounds
        self.rows += len(batch.samples)
        self.balancer += len(batch.balancer)
        self.vms |= {s.vm_id for s in batch.samples if s.vm_id}
        self.ambiguous |= set(batch.ambiguous)
        self.warnings += [w for w in warnings if w not in self.warnings]
        stamps = [s.ts for s in batch.samples] + [b.ts for b in batch.balancer]
        if stamps:
            self.times += [min(stamps), max(stamps)]

    def result(self, error: str | None = None) -> CollectResult:
        return CollectResult(
            host=self.host, ok=error is None, samples=self.rows, vms=len(self.vms),
            balancer=self.balancer, ambiguous=tuple(sorted(self.ambiguous)),
            warnings=tuple(self.warnings), first_ts=min(self.times) if self.times else None,
            last_ts=max(self.times) if self.times else None, error=error, scripts=self.scripts)
