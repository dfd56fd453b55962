"""The `apply` script on the simulated host: the 7 steps of `hvdyn/powershell/params.py`.

Mirrors `templates/apply.ps1.j2` step by step (same order, same outcomes,
same messages where it matters) so the engine cannot tell the two apart.
Waiting advances the simulated clock; a `drop` fault ends the stream after
a VM's modify, before its read-back, as a lost WinRM connection would; an
`edit` fault changes the VM just before the script reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hvdyn.core.model import FIELDS
from hvdyn.sim import wmi
from hvdyn.sim.common import (
    CLUSTER_FAILURE,
    POLL_S,
    Failure,
    ParamError,
    Record,
    error_record,
    need,
    optional_int,
    result_record,
    settings_of,
    settings_param,
)
from hvdyn.sim.state import (
    JOB_COMPLETED,
    JOB_IN_PROGRESS,
    OFF,
    PAUSED,
    RUNNING,
    SAVED,
    HostState,
    Job,
    MemoryData,
    SimVm,
)

IN_USE = 32774  # "system is in use": retried with backoff
RESTARTABLE = (RUNNING, PAUSED, SAVED)


class StreamDropped(Exception):
    """The connection dropped mid-script; `records` is what was printed before."""

    def __init__(self, records: list[Record]) -> None:
        super().__init__("stream dropped")
        self.records = records


def _wait_job(host: HostState, job: Job, timeout_s: int) -> bool:
    deadline = host.clock_s + timeout_s
    while job.job_state in JOB_IN_PROGRESS:
        if host.clock_s >= deadline:
            return False
        wmi.advance(host, POLL_S, lazy=True)
    return True


def _wait_state(host: HostState, vm: SimVm, wanted: int, timeout_s: int) -> bool:
    deadline = host.clock_s + timeout_s
    while vm.state != wanted:
        if host.clock_s >= deadline:
            return False
        wmi.advance(host, POLL_S, lazy=True)
    return True


def _wait_heartbeat(host: HostState, vm: SimVm, timeout_s: int) -> bool:
    deadline = host.clock_s + timeout_s
    while not (vm.state == RUNNING and vm.guest.ic_version and vm.guest.heartbeat == "ok"):
        if host.clock_s >= deadline:
            return False
        wmi.advance(host, POLL_S, lazy=True)
    return True


def _job_result(host: HostState, code: int, job: Job | None, what: str, timeout: int
                ) -> Failure | None:
    """Wait-HvResult: 0 ok, 4096 wait for the job, anything else a failure."""
    if code == wmi.OK:
        return None
    if code != wmi.JOB_STARTED or job is None:
        return code, f"{what} returned {code}"
    if not _wait_job(host, job, timeout):
        return None, f"{what}: job still running after {timeout} s"
    if job.job_state != JOB_COMPLETED:
        return job.error_code or None, (
            f"{what}: job state {job.job_state}, error {job.error_code}: {job.error_description}"
        )
    return None


def _retry(host: HostState, params: Mapping[str, Any],
           call: Callable[[], Failure | None]) -> Failure | None:
    """Invoke-HvRetry: 32774 (in use) is retried `retries` times, delay doubling."""
    delay = optional_int(params, "retry_delay_s", 1)
    retries = optional_int(params, "retries", 0)
    attempt = 0
    while True:
        failure = call()
        if failure is None or failure[0] != IN_USE or attempt >= retries:
            return failure
        wmi.advance(host, delay, lazy=True)
        delay *= 2
        attempt += 1


def _state_change(host: HostState, vm: SimVm, params: Mapping[str, Any], wanted: int
                  ) -> Failure | None:
    timeout = need(params, "job_timeout_s", int)

    def call() -> Failure | None:
        code, job = wmi.request_state_change(host, vm, wanted)
        return _job_result(host, code, job, f"RequestStateChange({wanted})", timeout)

    return _retry(host, params, call)


def _to_running(host: HostState, vm: SimVm, params: Mapping[str, Any]) -> Failure | None:
    """Start-HvVm: start or resume, wait for Running, then for heartbeat OK."""
    failure = _state_change(host, vm, params, RUNNING)
    if failure is not None:
        if failure[0] == wmi.OUT_OF_MEMORY:
            return failure[0], "not enough free host memory to start the VM (32778)"
        return failure
    timeout = need(params, "start_timeout_s", int)
    if not _wait_state(host, vm, RUNNING, timeout):
        return None, f"VM did not reach Running within {timeout} s"
    if wmi.take_fault(host, "heartbeat", vm) is not None:
        vm.guest.heartbeat = "lost"  # the guest boots but its integration services never answer
    if not _wait_heartbeat(host, vm, timeout):
        return None, f"VM is running but its heartbeat was not OK within {timeout} s"
    return None


LOCKED_MESSAGE = (
    "the guest is locked (InitiateShutdown 32781) and shuts down only with Force; "
    "allow that with --force-shutdown (or --force-off)"
)


class Pending(Exception):
    """Stop-HvVm's `p` flag: the VM is left as it is and reported pending."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _shutdown_call(host: HostState, vm: SimVm, *, force: bool) -> Failure | None:
    """InitiateShutdown: 0 and 4096 (accepted; the method has no Job) start the shutdown."""
    code = wmi.initiate_shutdown(host, vm, force=force)
    if code in (wmi.OK, wmi.JOB_STARTED):
        return None
    return code, f"InitiateShutdown returned {code}"


def _stop(host: HostState, vm: SimVm, params: Mapping[str, Any]) -> Failure | None:
    """Stop-HvVm: graceful shutdown; hard off past the deadline only with force_off.

    A locked guest (32781) is shut down with Force only when force_shutdown
    (or force_off) allows it; otherwise raises Pending.
    """
    timeout = need(params, "shutdown_timeout_s", int)
    try:
        failure = _shutdown_call(host, vm, force=False)
        if failure is not None and failure[0] == wmi.LOCKED:
            if not _force_shutdown(params):
                raise Pending(wmi.LOCKED, LOCKED_MESSAGE)
            failure = _shutdown_call(host, vm, force=True)
    except wmi.ComponentMissing:
        return None, "no shutdown integration component; cannot shut the guest down gracefully"
    if failure is not None and failure[0] != wmi.SHUTDOWN_IN_PROGRESS:
        return failure
    if _wait_state(host, vm, OFF, timeout):
        return None
    if not need(params, "force_off", bool):
        return None, f"guest did not shut down within {timeout} s (force_off not allowed)"
    failure = _state_change(host, vm, params, OFF)
    if failure is not None:
        return failure
    if _wait_state(host, vm, OFF, need(params, "job_timeout_s", int)):
        return None
    return None, "VM did not reach Off after RequestStateChange(3)"


def _force_shutdown(params: Mapping[str, Any]) -> bool:
    value = params.get("force_shutdown", False)
    if not isinstance(value, bool):
        raise ParamError("parameter 'force_shutdown' is not bool")
    return value


def _back_to(host: HostState, vm: SimVm, params: Mapping[str, Any], original: int
             ) -> Failure | None:
    """Restore-HvState: pause or save again a VM that was paused or saved."""
    if original not in (PAUSED, SAVED) or vm.state == original:
        return None
    failure = _state_change(host, vm, params, original)
    if failure is None and not _wait_state(host, vm, original, need(params, "job_timeout_s", int)):
        failure = None, f"VM did not return to EnabledState {original}"
    return failure


def _modify(host: HostState, vm: SimVm, params: Mapping[str, Any],
            target: Mapping[str, bool | int]) -> Failure | None:
    """Set-HvMem: ModifyVirtualSystemResources and its job, 32774 retried."""
    new = MemoryData(
        dynamic=bool(target["dynamic"]), virtual_quantity=int(target["startup_mb"]),
        reservation=int(target["minimum_mb"]), limit=int(target["maximum_mb"]),
        buffer=int(target["buffer"]), weight=int(target["weight"]),
    )
    timeout = need(params, "job_timeout_s", int)

    def call() -> Failure | None:
        code, job = wmi.modify_memory(host, vm, new)
        return _job_result(host, code, job, "ModifyVirtualSystemResources", timeout)

    return _retry(host, params, call)


def _join(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text or None


UNKNOWN_CLUSTER_WRITE = (
    "written; whether this VM is clustered is unknown, so its cluster copy was not refreshed "
    "(if it is clustered, refresh its configuration in Failover Cluster Manager, or a failover "
    "brings the old settings back): "
)
CLUSTERED_MESSAGE = (
    "clustered VM: needs the VM Off, and hvdyn never stops or starts it outside the cluster; "
    "take it offline in Failover Cluster Manager"
)


def available_mb(host: HostState) -> int:
    """Get-HvAvailMb: the balancer's Available Memory, else FreePhysicalMemory."""
    return host.free_mb() if host.balancer_counters else host.free_physical_mb()


def admission(host: HostState, vm: SimVm, params: Mapping[str, Any],
              expect: Mapping[str, bool | int], target: Mapping[str, bool | int], *,
              clustered: bool) -> tuple[str | None, str | None]:
    """Step 6's re-check before the start: (outcome, message), (None, None) when it fits.

    The old settings are written back only when they need less memory to
    start; a clustered VM's cluster copy is then refreshed again.
    """
    free = available_mb(host)
    new_startup = int(target["startup_mb"])
    if free >= new_startup:
        return None, None
    message = f"admission: {free}MB available, new startup needs {new_startup}MB; "
    if int(expect["startup_mb"]) >= new_startup:
        return "failed", message + "new settings kept (the previous ones need as much)"
    revert = _modify(host, vm, params, expect)
    if revert is not None:
        return "failed", message + "restoring previous settings failed: " + revert[1]
    message += "previous settings restored"
    if clustered:
        vm.cluster_refreshes += 1
    return "failed", message


def apply_vm(host: HostState, item: Mapping[str, Any], params: Mapping[str, Any],
             printed: list[Record]) -> Record:
    vm_id = need(item, "id", str)
    vm = host.vm(vm_id)
    if vm is None:  # 1. find by GUID
        return result_record(vm_id, "failed", message="VM not found")
    edit = wmi.take_fault(host, "edit", vm)
    if edit is not None and edit.weight is not None:  # someone else got there since the plan
        vm.memory.weight = edit.weight
    expect_state = need(item, "expect_state", int)
    expect = settings_param(item, "expect")
    target = settings_param(item, "target")
    offline = need(item, "offline", bool)
    restart = need(item, "restart", bool)
    current = settings_of(vm)
    original = vm.state
    if vm.state != expect_state or current != expect:  # 2. conflict
        diffs = [f"{k} {expect[k]}->{current[k]}" for k in FIELDS if expect[k] != current[k]]
        if vm.state != expect_state:
            diffs.insert(0, f"state {expect_state}->{vm.state}")
        return result_record(vm.id, "conflict", vm=vm,
                             message="VM changed since the plan: " + ", ".join(diffs))
    if current == target:  # 3. unchanged
        return result_record(vm.id, "unchanged", vm=vm)
    stopped = False
    clustered = vm.clustered and host.cluster == "ok"  # what Get-HvClusterMap finds
    if offline and vm.state != OFF:  # 4. to Off, only when allowed; never a clustered VM
        if clustered:
            return result_record(vm.id, "pending", vm=vm, message=CLUSTERED_MESSAGE)
        if restart and host.cluster == "fails":
            return result_record(vm.id, "pending", vm=vm, message=(
                "needs the VM Off, but whether it is clustered is unknown: " + CLUSTER_FAILURE))
        if not (restart and vm.state in RESTARTABLE):
            return result_record(vm.id, "pending", vm=vm,
                                 message=f"needs the VM Off; EnabledState is {vm.state}")
        outcome_4 = "failed"
        try:
            failure = _to_running(host, vm, params) if vm.state != RUNNING else None
            if failure is None:
                failure = _stop(host, vm, params)
        except Pending as exc:
            outcome_4, failure = "pending", (exc.code, exc.message)
        if failure is not None:
            back = _back_to(host, vm, params, original)
            msg = _join(failure[1], back[1] if back else None)
            return result_record(vm.id, outcome_4, code=failure[0], message=msg, vm=vm)
        stopped = True
    outcome: str | None = None
    code: int | None = None
    message: str | None = None
    failure = _modify(host, vm, params, target)  # 5. modify + job
    if failure is not None:
        outcome = "pending" if failure[0] == wmi.INVALID_STATE and vm.state != OFF else "failed"
        code, message = failure
    elif clustered:
        vm.cluster_refreshes += 1  # Update-ClusterVirtualMachineConfiguration
    elif host.cluster == "fails":
        message = UNKNOWN_CLUSTER_WRITE + CLUSTER_FAILURE
    if outcome is None and wmi.take_fault(host, "drop", vm) is not None:
        raise StreamDropped(printed)
    restarted = False
    if stopped:  # 6. admission re-check, start, heartbeat, back to the original state
        if outcome is None:
            wmi.settle(host)  # free memory as the balancer has it now
            outcome, message = admission(host, vm, params, expect, target, clustered=clustered)
        start = _to_running(host, vm, params)
        if start is None:
            restarted = True
            back = _back_to(host, vm, params, original)
            if back is not None:
                start = back
        if start is not None:
            outcome = "failed"
            code = start[0] if code is None else code
            message = _join(message, start[1])
    return result_record(vm.id, outcome or "applied", code=code, message=message, vm=vm,
                         restarted=restarted)  # 7. read back


def apply(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    for key in ("job_timeout_s", "shutdown_timeout_s", "start_timeout_s"):
        need(params, key, int)
    optional_int(params, "retries", 0)
    optional_int(params, "retry_delay_s", 1)
    need(params, "force_off", bool)
    records: list[Record] = []
    try:
        for item in need(params, "vms", list):
            item_id = item.get("id") if isinstance(item, dict) else None
            try:
                if not isinstance(item, dict):
                    raise ParamError("a vms entry is not an object")
                records.append(apply_vm(host, item, params, records))
            except ParamError as exc:
                records.append(
                    error_record(item_id if isinstance(item_id, str) else None, str(exc))
                )
    finally:
        wmi.settle(host)  # the state is saved with the balancer up to the clock
    return records
