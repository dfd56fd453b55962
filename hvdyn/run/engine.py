"""Per-host orchestration: discover -> desired -> checks -> plan -> render -> run -> verify.

Hosts run in a thread pool; each worker builds its own transport, and one
host failing never stops the others. The engine never imports a concrete
transport: it receives a factory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, TypeVar

from hvdyn.core.errors import HvdynError, ProtocolError, TransportError
from hvdyn.core.model import (
    Change,
    ChangeStatus,
    Finding,
    GuestInfo,
    HostFacts,
    HostPlan,
    HostResult,
    HostSpec,
    HostStatus,
    Script,
    VmFacts,
    VmPlan,
    VmState,
    mark_planned,
)
from hvdyn.planning.host_checks import CAPACITY, HostContext, check_host
from hvdyn.planning.plan import PlanOptions, block_by_findings, plan_vm
from hvdyn.policy.evaluate import Resolution
from hvdyn.powershell.params import ApplyOptions, apply_params, discover_params
from hvdyn.powershell.records import ErrorRecord, ParsedOutput, ResultRecord, parse_stream
from hvdyn.powershell.templates import render_script
from hvdyn.run.executor import ApplyContext, JournalSink, apply_host
from hvdyn.run.facts import host_facts
from hvdyn.transport import Transport

Mode = Literal["plan", "apply"]
DISCOVER_TIMEOUT_S = 300.0


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


class PolicyLike(Protocol):
    """What the engine needs of a policy (see `hvdyn.policy.load.Policy`)."""

    @property
    def host_reserve_mb(self) -> int: ...

    @property
    def max_overcommit(self) -> float | None: ...

    def resolve(self, vm: VmFacts, host: HostSpec) -> Resolution: ...


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


ProgressCallback = Callable[[str, str], None]  # (host, step)


def _no_progress(host: str, step: str) -> None:
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
            self._progress(spec.name, "done")

    def _run_host(self, spec: HostSpec) -> HostResult:
        if self._snapshot is not None:
            facts = self._snapshot.get(spec.name)
            if facts is None:
                raise HvdynError(f"{spec.name}: not in the snapshot")
            return self._plan_and_render(facts, spec)
        transport = self._transport_for(spec)
        try:
            self._progress(spec.name, "discover")
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
        plan, findings = self.plan_host(facts, spec)
        if not any(v.has_work for v in plan.vms):
            return _result(plan, findings, scripts=())
        options = self._options
        budget = options.host_timeout_s or apply_timeout(plan, options.apply)
        ctx = ApplyContext(
            spec=spec,
            options=options.apply,
            journal=self._journal,
            transport_for=self._transport_for,
            run_script=lambda t, s, script, left: run_script(
                t, s, script, timeout_s=min(left, apply_timeout(plan, options.apply))
            ),
            merge=merge_results,
            progress=self._progress,
            stopped=self._stop.is_set,
            deadline=time.monotonic() + budget,
            max_restarts=options.max_restarts_per_host,
        )
        out = apply_host(ctx, transport, plan)
        applied = replace(plan, vms=tuple(out.vms.get(v.vm.id, v) for v in plan.vms))
        result = _result(applied, findings, scripts=tuple(out.scripts))
        if out.errors:
            return replace(result, status=HostStatus.FAILED, error="; ".join(out.errors))
        return result

    def _plan_and_render(self, facts: HostFacts, spec: HostSpec) -> HostResult:
        """Plan from facts; for a dry run also render the apply script (sent nowhere)."""
        plan, findings = self.plan_host(facts, spec)
        if self._options.mode == "plan":
            return _result(plan, findings, scripts=())
        params = apply_params(plan, self._options.apply)
        script = render_script("apply", params, review=self._options.review)
        return _result(plan, findings, scripts=(script,))

    def plan_host(self, facts: HostFacts, spec: HostSpec) -> tuple[HostPlan, list[Finding]]:
        """Resolve the policy for every VM on a host, plan it, then run the host checks."""
        vm_plans: list[VmPlan] = []
        findings: list[Finding] = []
        base = self._options.plan
        # The plan options with restarts allowed or not, built once per host, not per VM.
        with_restart = {flag: replace(base, allow_restart=flag) for flag in (False, True)}
        for vm in facts.vms:
            resolution = self._policy.resolve(vm, spec)
            allow = resolution.may_restart(base.allow_restart)
            vm_plan, vm_findings = plan_vm(
                vm,
                facts,
                resolution.desired,
                with_restart[allow],
                excluded=None if resolution.excluded_by is None else str(resolution.excluded_by),
                policy_error=resolution.error,
                unmanaged=resolution.note,
            )
            vm_plans.append(vm_plan)
            findings.extend(vm_findings)
        host_findings = check_host(
            HostContext(
                host=facts,
                plans=tuple(vm_plans),
                reserve_mb=self._policy.host_reserve_mb,
                max_overcommit=self._policy.max_overcommit,
            )
        )
        findings.extend(host_findings)
        blocked = block_by_findings(vm_plans, host_findings, CAPACITY)
        return HostPlan(host=spec.name, facts=facts, vms=blocked), list(findings)


# ---------------------------------------------------------------- helpers

T = TypeVar("T")


def fan_out(hosts: Sequence[HostSpec], work: Callable[[HostSpec], T], forks: int) -> list[T]:
    """Run `work` once per host on a pool of `forks` threads; results in host order.

    `work` must not raise for a host's own failure (return it as data), so one
    host never stops the others.
    """
    workers = max(1, min(forks, len(hosts) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hvdyn-host") as pool:
        return list(pool.map(work, hosts))


def run_script(
    transport: Transport, spec: HostSpec, script: Script, *, timeout_s: float
) -> ParsedOutput:
    """Run a script and parse its records; a broken stream names stderr too."""
    result = transport.run(script, timeout_s=timeout_s)
    try:
        return parse_stream(result.stdout, host=spec.name, script=script.name)
    except ProtocolError as exc:
        detail = result.stderr.strip().splitlines()[-3:] if result.stderr.strip() else []
        extra = (
            f" (exit code {result.rc}; stderr: {' | '.join(detail)})"
            if detail
            else (f" (exit code {result.rc})")
        )
        raise ProtocolError(spec.name, script.name, str(exc).split(": ", 2)[-1] + extra) from exc


def discover(transport: Transport, spec: HostSpec) -> HostFacts:
    script = render_script("discover", discover_params(spec.name))
    parsed = run_script(transport, spec, script, timeout_s=DISCOVER_TIMEOUT_S)
    fatal = parsed.script_errors
    if fatal:
        raise ProtocolError(spec.name, "discover", "; ".join(e.message for e in fatal))
    return host_facts(parsed, host=spec.name)


def apply_timeout(plan: HostPlan, options: ApplyOptions) -> float:
    """Upper bound for the apply script: every VM's deadlines in sequence, plus slack."""
    total = 120.0
    for vm in plan.vms:
        if vm.has_work:
            total += options.job_timeout_s
            if vm.restart:
                total += options.shutdown_timeout_s + options.start_timeout_s
    return total


def _status_for(outcome: str) -> ChangeStatus:
    return {
        "applied": ChangeStatus.APPLIED,
        "unchanged": ChangeStatus.APPLIED,
        "conflict": ChangeStatus.CONFLICT,
        "pending": ChangeStatus.PENDING,
        "failed": ChangeStatus.FAILED,
    }[outcome]


def _verify(vm_plan: VmPlan, record: ResultRecord) -> tuple[ChangeStatus, str]:
    """Read-back must equal the target, else the VM failed."""
    status = _status_for(record.outcome)
    message = record.message or ""
    if record.code is not None and record.outcome != "applied":
        message = f"{message} (code {record.code})".strip()
    if status is ChangeStatus.APPLIED:
        if record.settings is None:
            return ChangeStatus.FAILED, "host returned no read-back of the settings"
        target = vm_plan.target
        assert target is not None
        wrong = [
            f"{name} is {record.settings.get(name)}, wanted {target.get(name)}"
            for name in target.as_dict()
            if record.settings.get(name) != target.get(name)
        ]
        if wrong:
            return ChangeStatus.FAILED, "read-back differs: " + "; ".join(wrong)
        message = message or ("applied (VM restarted)" if record.restarted else "applied")
    return status, message


def merge_results(plan: HostPlan, parsed: ParsedOutput) -> HostPlan:
    """Fold the apply script's result records into the plan's change statuses."""
    by_id = {r.id.lower(): r for r in parsed.of_type(ResultRecord)}
    errors = {(e.id or "").lower(): e for e in parsed.of_type(ErrorRecord)}
    merged: list[VmPlan] = []
    for vm_plan in plan.vms:
        if not vm_plan.has_work:
            merged.append(vm_plan)
            continue
        key = vm_plan.vm.id.lower()
        record = by_id.get(key)
        final_state: VmState | None = None
        if record is None:
            err = errors.get(key)
            status = ChangeStatus.FAILED
            message = err.message if err else "no result from the host for this VM"
        else:
            status, message = _verify(vm_plan, record)
            final_state = VmState.from_code(record.state)
        changes = mark_planned(vm_plan.changes, status, message)
        merged.append(
            replace(
                vm_plan, changes=changes, reason=message or vm_plan.reason, final_state=final_state
            )
        )
    return replace(plan, vms=tuple(merged))


def _all_changes(plan: HostPlan) -> Iterable[Change]:
    for vm in plan.vms:
        yield from vm.changes


def host_status(plan: HostPlan) -> HostStatus:
    statuses = {c.status for c in _all_changes(plan)}
    if ChangeStatus.FAILED in statuses:
        return HostStatus.FAILED
    if statuses & {
        ChangeStatus.PLANNED,
        ChangeStatus.PENDING,
        ChangeStatus.BLOCKED,
        ChangeStatus.CONFLICT,
    }:
        return HostStatus.DRIFT
    if ChangeStatus.APPLIED in statuses:
        return HostStatus.CHANGED
    return HostStatus.OK


def _result(
    plan: HostPlan,
    findings: list[Finding],
    *,
    scripts: tuple[Script, ...],
    script_errors: ParsedOutput | None = None,
) -> HostResult:
    status = host_status(plan)
    error = None
    if script_errors is not None and script_errors.script_errors:
        status = HostStatus.FAILED
        error = "; ".join(e.message for e in script_errors.script_errors)
    return HostResult(
        host=plan.host,
        status=status,
        plan=plan,
        error=error,
        findings=tuple(findings),
        scripts=scripts,
    )
