"""The apply phase on one host: batches, deadlines, journal, lost connections.

Why batches: VMs that need no restart go out in one script; each VM that
needs a restart gets its own script, at most `max_restarts` in flight on a
host, so a restart never waits behind another and a lost connection costs
the outcome of as few VMs as possible. Every VM is journaled (intent)
before its script is sent and gets its outcome after the read-back; a VM
whose script was cut off is journaled `unknown` and the rerun converges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Protocol

from hvdyn.core.errors import ProtocolError, TransportError
from hvdyn.core.model import (
    ChangeStatus,
    HostPlan,
    HostSpec,
    MemorySettings,
    Script,
    VmPlan,
    mark_planned,
)
from hvdyn.core.vocab import JournalOutcome, Step
from hvdyn.powershell.params import ApplyOptions, apply_params
from hvdyn.powershell.record_parser import parse_stream
from hvdyn.powershell.records import ParsedOutput, ResultRecord, encode_record
from hvdyn.powershell.templates import render_script
from hvdyn.run.runtime import run_script
from hvdyn.run.verify import merge_results
from hvdyn.transport import Transport

# (host, what it is doing, the VMs of an apply/restart batch: empty for the other steps).
# A record, not a sentence: the display words it, readers compare the `Step`.
ProgressCallback = Callable[[str, Step, tuple[str, ...]], None]

JOURNAL_OUTCOME = {
    ChangeStatus.APPLIED: JournalOutcome.APPLIED,
    ChangeStatus.CONFLICT: JournalOutcome.CONFLICT,
    ChangeStatus.PENDING: JournalOutcome.PENDING,
    ChangeStatus.FAILED: JournalOutcome.FAILED,
}


class JournalSink(Protocol):
    """Where intents and outcomes go (the store's journal, see `hvdyn.run.journal`)."""

    def intent(self, host: str, vm_plan: VmPlan) -> None: ...

    def outcome(
        self,
        host: str,
        vm_plan: VmPlan,
        outcome: JournalOutcome,
        *,
        after: MemorySettings | None,
        message: str,
        state_after: int | None,
    ) -> None: ...


@dataclass
class HostApply:
    """What the apply phase of one host produced."""

    vms: dict[str, VmPlan] = field(default_factory=dict)  # by VM id, updated plans
    scripts: list[Script] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # script-level errors, lost connections
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyContext:
    """One host's apply phase: where to send, what to tell, when to stop."""

    spec: HostSpec
    options: ApplyOptions
    journal: JournalSink | None
    transport_for: Callable[[HostSpec], Transport]  # a connection of its own per restart batch
    progress: ProgressCallback
    stopped: Callable[[], bool]
    deadline: float  # time.monotonic() value
    max_restarts: int = 1


def apply_timeout(plan: HostPlan, options: ApplyOptions) -> float:
    """Upper bound for the apply script: every VM's deadlines in sequence, plus slack."""
    total = 120.0
    for vm in plan.vms:
        if vm.has_work:
            total += options.job_timeout_s
            if vm.restart:
                total += options.shutdown_timeout_s + options.start_timeout_s
    return total


def batches(plan: HostPlan) -> list[list[VmPlan]]:
    """Online/off-VM work in one batch, then one batch per VM to restart."""
    work = [v for v in plan.vms if v.has_work and v.target is not None]
    quiet = [v for v in work if not v.restart]
    return ([quiet] if quiet else []) + [[v] for v in work if v.restart]


def _mark(vm_plan: VmPlan, status: ChangeStatus, why: str) -> VmPlan:
    """The VM's still-planned changes get `status` and `why` (not sent, or outcome unknown)."""
    return replace(vm_plan, changes=mark_planned(vm_plan.changes, status, why), reason=why)


def salvage(exc: TransportError, spec: HostSpec, script: Script) -> ParsedOutput | None:
    """The records a transport received before the connection died, if it kept them.

    The stream has no `end` record; one counting exactly the received lines
    is appended so the strict parser checks everything else as usual. A last
    line cut off mid-record is dropped: only whole lines are records.
    """
    text = exc.partial_stdout
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    count = sum(1 for line in text.splitlines() if line.strip().startswith("HVDYN1 "))
    if count == 0:
        return None
    closed = text + encode_record({"t": "end", "records": count}) + "\r\n"
    try:
        return parse_stream(closed, host=spec.name, script=script.name)
    except ProtocolError:
        return None


def _journal_outcomes(
    ctx: ApplyContext, merged: Sequence[VmPlan], records: dict[str, ResultRecord]
) -> None:
    if ctx.journal is None:
        return
    for vm_plan in merged:
        statuses = {c.status for c in vm_plan.changes} - {ChangeStatus.BLOCKED}
        status = next(
            (
                s
                for s in (
                    ChangeStatus.FAILED,
                    ChangeStatus.CONFLICT,
                    ChangeStatus.PENDING,
                    ChangeStatus.APPLIED,
                )
                if s in statuses
            ),
            ChangeStatus.FAILED,
        )
        record = records.get(vm_plan.vm.id.lower())
        ctx.journal.outcome(
            ctx.spec.name,
            vm_plan,
            JOURNAL_OUTCOME[status],
            after=record.settings if record else None,
            message=vm_plan.reason,
            state_after=record.state if record else None,
        )


def run_batch(
    ctx: ApplyContext, transport: Transport, plan: HostPlan, vms: list[VmPlan], out: HostApply
) -> bool:
    """Send one batch; False when the host's connection is lost (stop the host)."""
    if ctx.stopped():
        _record(out, [_mark(v, ChangeStatus.PENDING, "not sent: run interrupted") for v in vms])
        return True
    remaining = ctx.deadline - time.monotonic()
    if remaining <= 0:
        _record(
            out, [_mark(v, ChangeStatus.PENDING, "not sent: host deadline reached") for v in vms]
        )
        return True
    sub = replace(plan, vms=tuple(vms))
    script = render_script("apply", apply_params(sub, ctx.options))
    if ctx.journal is not None:
        for vm_plan in vms:
            ctx.journal.intent(ctx.spec.name, vm_plan)
    ctx.progress(ctx.spec.name, Step.RESTART if vms[0].restart else Step.APPLY,
                 tuple(v.vm.name for v in vms))
    timeout_s = min(remaining, apply_timeout(plan, ctx.options))
    try:
        parsed = run_script(transport, ctx.spec, script, timeout_s=timeout_s)
    except TransportError as exc:
        partial = salvage(exc, ctx.spec, script)
        merged = merge_results(sub, partial) if partial is not None else sub
        got = {r.id.lower(): r for r in partial.of_type(ResultRecord)} if partial else {}
        confirmed = [v for v in merged.vms if v.vm.id.lower() in got]
        why = f"outcome unknown: connection lost ({exc}); rerun to converge"
        lost = [_mark(v, ChangeStatus.FAILED, why) for v in sub.vms if v.vm.id.lower() not in got]
        _journal_outcomes(ctx, confirmed, got)
        if ctx.journal is not None:
            for vm_plan in lost:
                ctx.journal.outcome(
                    ctx.spec.name, vm_plan, JournalOutcome.UNKNOWN, after=None, message=why,
                    state_after=None,
                )
        _record(out, [*confirmed, *lost], script=script, error=str(exc))
        return False
    merged = merge_results(sub, parsed)
    records = {r.id.lower(): r for r in parsed.of_type(ResultRecord)}
    _journal_outcomes(ctx, merged.vms, records)
    errors = "; ".join(e.message for e in parsed.script_errors)
    _record(out, list(merged.vms), script=script, error=errors or None)
    return True


def _record(
    out: HostApply, vms: Sequence[VmPlan], *, script: Script | None = None, error: str | None = None
) -> None:
    with out.lock:
        for vm_plan in vms:
            out.vms[vm_plan.vm.id] = vm_plan
        if script is not None:
            out.scripts.append(script)
        if error:
            out.errors.append(error)


def apply_host(ctx: ApplyContext, transport: Transport, plan: HostPlan) -> HostApply:
    """Run every batch of a host; restart batches up to `max_restarts` at a time."""
    out = HostApply()
    todo = batches(plan)
    lost = threading.Event()

    def one(batch: list[VmPlan], own: Transport | None) -> None:
        if lost.is_set():
            _record(
                out,
                [
                    _mark(v, ChangeStatus.PENDING, "not sent: connection to the host lost")
                    for v in batch
                ],
            )
            return
        use = own if own is not None else ctx.transport_for(ctx.spec)
        try:
            if not run_batch(ctx, use, plan, batch, out):
                lost.set()
        finally:
            if own is None:
                use.close()

    restarts = [b for b in todo if b[0].restart]
    for batch in (b for b in todo if not b[0].restart):
        one(batch, transport)
    if ctx.max_restarts <= 1:
        for batch in restarts:
            one(batch, transport)
    elif restarts:
        with ThreadPoolExecutor(
            max_workers=ctx.max_restarts, thread_name_prefix="hvdyn-restart"
        ) as pool:
            list(pool.map(lambda b: one(b, None), restarts))
    return out
