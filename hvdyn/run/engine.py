"""Per-host orchestration: discover -> desired -> checks -> plan -> render -> run -> verify.

Hosts run in a thread pool (`hvdyn.run.runtime`); each worker builds its own
transport, and one host failing never stops the others. The engine never
imports a concrete transport: it receives a factory. Planning is pure
(`hvdyn.planning.host_plan`), the apply phase is `hvdyn.run.executor`, the
read-back check `hvdyn.run.verify`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from hvdyn.core.errors import HvdynError, TransportError
from hvdyn.core.model import (
    GuestInfo,
    HostFacts,
    HostPlan,
    HostResult,
    HostSpec,
    HostStatus,
    VmFacts,
)
from hvdyn.core.vocab import Step
from hvdyn.planning.host_plan import PolicyLike, plan_host
from hvdyn.planning.plan import PlanOptions
from hvdyn.powershell.params import ApplyOptions, apply_params
from hvdyn.powershell.templates import render_script
from hvdyn.run.executor import (
    ApplyContext,
    JournalSink,
    ProgressCallback,
    apply_host,
    apply_timeout,
)
from hvdyn.run.runtime import discover, fan_out
from hvdyn.run.verify import host_result
from hvdyn.transport import Transport

Mode = Literal["plan", "apply"]


class GuestMemory(Protocol):
    """Where the guest facts VMs reported are kept (the store, `hvdyn.history.Store`)."""

    def remember_guests(self, host: str, vms: Sequence[VmFacts]) -> None: ...

    def recall_guests(self, host: str) -> Mapping[str, tuple[GuestInfo, str]]: ...


def with_remembered_guests(
    facts: HostFacts, known: Mapping[str, tuple[GuestInfo, str]]
) -> HostFacts:
    """VMs that report no guest OS (not running) get the guest facts last seen for them.

    The heartbeat is never remembered: it says how the guest is now.
    """
    vms = []
    for vm in facts.vms:
        seen = known.get(vm.id.upper()) if vm.guest.os_name is None else None
        if seen is not None:
            guest, when = seen
            vm = replace(vm, guest=replace(guest, heartbeat=vm.guest.heartbeat), guest_seen=when)
        vms.append(vm)
    return replace(facts, vms=tuple(vms))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    mode: Mode = "plan"
    dry_run: bool = False  # apply: render the scripts, send nothing that changes a host
    review: bool = False  # render scripts in review form (comments kept)
    forks: int = 10
    plan: PlanOptions = field(default_factory=PlanOptions)
    apply: ApplyOptions = field(default_factory=ApplyOptions)
    max_restarts_per_host: int = 1  # VMs restarted at once on one host
    host_timeout_s: float | None = None  # whole apply phase of a host; None = sum of deadlines


def _no_progress(host: str, step: Step, vms: tuple[str, ...]) -> None:
    return None


class Engine:
    """Runs one command (plan or apply) across hosts."""

    def __init__(
        self,
        policy: PolicyLike,
        transport_for: Callable[[HostSpec], Transport],
        options: RunOptions,
        progress: ProgressCallback = _no_progress,
        snapshot: Mapping[str, HostFacts] | None = None,
        journal: JournalSink | None = None,
        guests: GuestMemory | None = None,
    ) -> None:
        if snapshot is not None and not (options.mode == "plan" or options.dry_run):
            raise ValueError("a snapshot can only be planned or rendered, never applied")
        self._policy = policy
        self._transport_for = transport_for
        self._options = options
        self._progress = progress
        self._snapshot = snapshot
        self._stop = threading.Event()
        self._journal = journal
        self._guests = guests

    def stop(self) -> None:
        """Schedule no new hosts; hosts already running finish."""
        self._stop.set()

    def run(self, hosts: Sequence[HostSpec]) -> list[HostResult]:
        results = fan_out(hosts, self._run_host_guarded, self._options.forks)
        return sorted(results, key=lambda r: r.host)

    # ------------------------------------------------------------ one host

    def _run_host_guarded(self, spec: HostSpec) -> HostResult:
        empty = HostPlan(host=spec.name, facts=None)
        if self._stop.is_set():
            return HostResult(
                host=spec.name,
                status=HostStatus.FAILED,
                plan=empty,
                error="not started: run interrupted",
            )
        try:
            return self._run_host(spec)
        except TransportError as exc:
            return HostResult(
                host=spec.name, status=HostStatus.UNREACHABLE, plan=empty, error=str(exc)
            )
        except HvdynError as exc:
            return HostResult(host=spec.name, status=HostStatus.FAILED, plan=empty, error=str(exc))
        finally:
            self._progress(spec.name, Step.DONE, ())

    def _run_host(self, spec: HostSpec) -> HostResult:
        if self._snapshot is not None:
            facts = self._snapshot.get(spec.name)
            if facts is None:
                raise HvdynError(f"{spec.name}: not in the snapshot")
            return self._plan_and_render(facts, spec)
        transport = self._transport_for(spec)
        try:
            self._progress(spec.name, Step.DISCOVER, ())
            facts = self._remembered(spec, discover(transport, spec))
            if self._options.mode == "plan" or self._options.dry_run:
                return self._plan_and_render(facts, spec)
            return self._apply(transport, spec, facts)
        finally:
            transport.close()

    def _remembered(self, spec: HostSpec, facts: HostFacts) -> HostFacts:
        """Remember what running guests report; fill in the rest from memory.

        A dry run or a render only reads the memory: it changes nothing anywhere.
        """
        if self._guests is None:
            return facts
        known = self._guests.recall_guests(spec.name)
        if not self._options.dry_run:
            self._guests.remember_guests(spec.name, facts.vms)
        return with_remembered_guests(facts, known)

    def _apply(self, transport: Transport, spec: HostSpec, facts: HostFacts) -> HostResult:
        """Send the planned work in batches (see `hvdyn.run.executor`) and verify it."""
        plan, findings = plan_host(self._policy, facts, spec, self._options.plan)
        if not any(v.has_work for v in plan.vms):
            return host_result(plan, findings, scripts=())
        options = self._options
        budget = options.host_timeout_s or apply_timeout(plan, options.apply)
        ctx = ApplyContext(
            spec=spec,
            options=options.apply,
            journal=self._journal,
            transport_for=self._transport_for,
            progress=self._progress,
            stopped=self._stop.is_set,
            deadline=time.monotonic() + budget,
            max_restarts=options.max_restarts_per_host,
        )
        out = apply_host(ctx, transport, plan)
        applied = replace(plan, vms=tuple(out.vms.get(v.vm.id, v) for v in plan.vms))
        result = host_result(applied, findings, scripts=tuple(out.scripts))
        if out.errors:
            return replace(result, status=HostStatus.FAILED, error="; ".join(out.errors))
        return result

    def _plan_and_render(self, facts: HostFacts, spec: HostSpec) -> HostResult:
        """Plan from facts; for a dry run also render the apply script (sent nowhere)."""
        plan, findings = plan_host(self._policy, facts, spec, self._options.plan)
        if self._options.mode == "plan":
            return host_result(plan, findings, scripts=())
        params = apply_params(plan, self._options.apply)
        script = render_script("apply", params, review=self._options.review)
        return host_result(plan, findings, scripts=(script,))
