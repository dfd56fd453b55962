"""WMI v1 rules of a 2008 R2 SP1 host, as the apply script meets them.

ModifyVirtualSystemResources, Msvm_ConcreteJob, InitiateShutdown and
RequestStateChange with the return codes and state rules of
docs/reference-notes.md (4096 a job was started, 32774 in use, startup and
maximum only while Off, ...); `advance` moves the simulated clock, completes
jobs and guest shutdowns, and runs the balancer.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from hvdyn.core.model import MAX_VM_MEMORY_MB
from hvdyn.sim import balancer
from hvdyn.sim.state import (
    JOB_COMPLETED,
    JOB_EXCEPTION,
    JOB_IN_PROGRESS,
    OFF,
    PAUSED,
    RUNNING,
    SAVED,
    STARTING,
    STOPPING,
    DmCounters,
    Fault,
    HostState,
    Job,
    MemoryData,
    SimVm,
)

OK = 0
JOB_STARTED = 4096
FAILED = 32768
INVALID_PARAMETER = 32773
INVALID_STATE = 32775
OUT_OF_MEMORY = 32778
LOCKED = 32781  # InitiateShutdown: a user session is locked; only Force shuts it down
SHUTDOWN_IN_PROGRESS = 32782

MIN_VM_MEMORY_MB = 8
MODIFY_JOB_S = 2
STOP_JOB_S = 1
MAX_TICK_S = 5  # the balancer runs at least this often during short waits


class ComponentMissing(Exception):
    """The VM has no such integration component (no ICs in the guest)."""


# ---------------------------------------------------------------- clock


def now_iso(host: HostState) -> str:
    start = datetime.fromisoformat(host.epoch.replace("Z", "+00:00"))
    return (start + timedelta(seconds=host.clock_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _watched(host: HostState) -> tuple[dict[str, None], dict[str, None]]:
    """(VMs shutting down, jobs in progress), worked out from the state when not known yet."""
    if host.shutting_down is None or host.open_jobs is None:
        host.shutting_down = {vm.id: None for vm in host.vms if vm.shutdown_at is not None}
        host.open_jobs = {
            key: None for key, job in host.jobs.items() if job.job_state in JOB_IN_PROGRESS
        }
    return host.shutting_down, host.open_jobs


def _set_shutdown(host: HostState, vm: SimVm, at: int | None) -> None:
    vm.shutdown_at = at
    shutting_down, _ = _watched(host)
    if at is None:
        shutting_down.pop(vm.id, None)
    else:
        shutting_down[vm.id] = None


def _next_event(host: HostState) -> tuple[int, bool] | None:
    """When the next job or guest shutdown completes, and whether the balancer would see it.

    A modify job completes on a VM that is Off (the only state in which a
    modify starts a job), which the balancer does not look at.
    """
    due: int | None = None
    seen = False
    shutting_down, open_jobs = _watched(host)
    for key in open_jobs:
        job = host.jobs.get(key)
        if job is None or job.job_state not in JOB_IN_PROGRESS:
            continue
        if due is None or job.done_at < due:
            due = job.done_at
        seen = seen or job.kind != "modify"
    for vm_id in shutting_down:
        vm = host.vm(vm_id)
        if vm is not None and vm.shutdown_at is not None:
            if due is None or vm.shutdown_at < due:
                due = vm.shutdown_at
            seen = True
    return None if due is None else (due, seen)


def advance(host: HostState, seconds: int, *, lazy: bool = False) -> None:
    """Let `seconds` of simulated time pass: events fire in order, the balancer ticks.

    `lazy` (the apply script's polling waits): the balancer does not run at every
    step; `settle` runs the passes that were left out when something is about to
    read or change what the balancer works on. Each of those passes sees the VMs
    as they are when it runs, so passes left out across an online buffer/weight
    change use the new values; free memory at the time it is read is the same.
    Without it, a host with N VMs paid a pass over every VM for each second of
    every VM's job: apply time grew with N squared.
    """
    if not lazy:
        settle(host)
    end = host.clock_s + max(0, seconds)
    tick = max(MAX_TICK_S, seconds // 60)  # long waits: at most ~60 balancer passes each
    while host.clock_s < end:
        step = min(end - host.clock_s, tick)
        event = _next_event(host)
        if event is not None and event[0] > host.clock_s:
            step = min(step, event[0] - host.clock_s)
        if lazy:
            if event is not None and event[1] and event[0] <= host.clock_s + step:
                settle(host)  # the passes before a VM starts, stops or saves
            if host.balanced_s is None:
                host.balanced_s = host.clock_s
            host.clock_s += step
            _fire_due(host)
        else:
            host.clock_s += step
            _fire_due(host)
            balancer.rebalance(host)


def settle(host: HostState) -> None:
    """Run the balancer passes `advance(lazy=True)` left out, up to the host's clock.

    Spaced as one long wait of that length would be (every MAX_TICK_S seconds,
    at most ~60 passes), the last one at the current clock.
    """
    start = host.balanced_s
    if start is None:
        return
    host.balanced_s = None
    now = host.clock_s
    tick = max(MAX_TICK_S, (now - start) // 60)
    at = start
    while at < now:
        at = min(now, at + tick)
        balancer.rebalance(host, at)


def _fire_due(host: HostState) -> None:
    shutting_down, open_jobs = _watched(host)
    for vm_id in list(shutting_down):
        vm = host.vm(vm_id)
        if vm is not None and vm.shutdown_at is not None and vm.shutdown_at <= host.clock_s:
            _power_off(host, vm)
    for key in list(open_jobs):
        job = host.jobs.get(key)
        if job is None or job.job_state not in JOB_IN_PROGRESS:
            open_jobs.pop(key, None)
        elif job.done_at <= host.clock_s:
            _complete(host, job)


def _power_off(host: HostState, vm: SimVm) -> None:
    vm.state = OFF
    _set_shutdown(host, vm, None)
    vm.dm = DmCounters()


def _complete(host: HostState, job: Job) -> None:
    job.job_state = job.final_state
    _watched(host)[1].pop(job.id, None)
    vm = host.vm(job.vm_id)
    if vm is None or job.final_state != JOB_COMPLETED:
        return
    if job.kind == "modify" and job.payload is not None:
        vm.memory = MemoryData(**job.payload)
    elif job.kind == "start":
        vm.state = RUNNING
    elif job.kind == "stop":
        _power_off(host, vm)
    elif job.kind == "save":
        _power_off(host, vm)
        vm.state = SAVED


def _new_job(host: HostState, vm: SimVm, kind: str, seconds: int) -> Job:
    job_id = f"{host.next_job:08d}-0000-0000-0000-{vm.id[-12:]}"
    host.next_job += 1
    job = Job(id=job_id, vm_id=vm.id, kind=kind, done_at=host.clock_s + seconds)
    _watched(host)[1][job_id] = None
    host.jobs[job_id] = job
    # Keep the table small: completed jobs older than an hour are gone, as on a host.
    for old_id in [
        k
        for k, j in host.jobs.items()
        if j.job_state not in JOB_IN_PROGRESS and j.done_at < host.clock_s - 3600
    ]:
        del host.jobs[old_id]
    return job


# ---------------------------------------------------------------- faults


def take_fault(host: HostState, op: str, vm: SimVm | None = None) -> Fault | None:
    """The first matching injected fault for `op` (and VM), consuming one use."""
    for fault in host.faults:
        if fault.op != op or fault.times == 0:
            continue
        if fault.vm is not None and (
            vm is None or (fault.vm not in (vm.name, vm.id) and fault.vm.upper() != vm.id)
        ):
            continue
        if fault.times is not None:
            fault.times -= 1
        return fault
    return None


# ---------------------------------------------------------------- modify


def validate(mem: MemoryData) -> str | None:
    """Why Hyper-V would answer 32773 (invalid parameter), or None."""
    for label, value in (
        ("VirtualQuantity", mem.virtual_quantity),
        ("Reservation", mem.reservation),
        ("Limit", mem.limit),
    ):
        if value % 2:
            return f"{label} {value} MB is not an even number of MB"
    for label, value in (("VirtualQuantity", mem.virtual_quantity), ("Limit", mem.limit)):
        if not MIN_VM_MEMORY_MB <= value <= MAX_VM_MEMORY_MB:
            return f"{label} {value} MB is outside {MIN_VM_MEMORY_MB}..{MAX_VM_MEMORY_MB}"
    if mem.reservation > mem.virtual_quantity:
        return "Reservation is above VirtualQuantity"
    if mem.dynamic and mem.limit < mem.virtual_quantity:
        return "Limit is below VirtualQuantity"
    if not 5 <= mem.buffer <= 2000:
        return f"TargetMemoryBuffer {mem.buffer} is outside 5..2000"
    if not 0 <= mem.weight <= 10000:
        return f"Weight {mem.weight} is outside 0..10000"
    return None


def normalized(mem: MemoryData) -> MemoryData:
    """What the host stores: static VMs keep Limit = Reservation = VirtualQuantity."""
    if mem.dynamic:
        return MemoryData(**asdict(mem))
    q = mem.virtual_quantity
    return MemoryData(
        dynamic=False, virtual_quantity=q, reservation=q, limit=q,
        buffer=mem.buffer, weight=mem.weight,
    )


def modify_memory(host: HostState, vm: SimVm, new: MemoryData) -> tuple[int, Job | None]:
    """ModifyVirtualSystemResources with a memory RASD: (return value, job)."""
    fault = take_fault(host, "modify", vm)
    if fault is not None:
        return (fault.code if fault.code is not None else FAILED), None
    if validate(new) is not None:
        return INVALID_PARAMETER, None
    stored = normalized(new)
    old = vm.memory
    offline_changed = (
        stored.dynamic != old.dynamic
        or stored.virtual_quantity != old.virtual_quantity
        or stored.reservation != old.reservation
        or stored.limit != old.limit
    )
    online_changed = stored.buffer != old.buffer or stored.weight != old.weight
    if vm.state != OFF:
        if offline_changed or vm.state not in (RUNNING, PAUSED):  # saved: settings locked
            return INVALID_STATE, None
        if online_changed and not (host.online_buffer_weight and vm.state in (RUNNING, PAUSED)):
            return INVALID_STATE, None
        vm.memory = stored  # buffer/weight take effect at once on a live VM
        return OK, None
    job = _new_job(host, vm, "modify", MODIFY_JOB_S)
    job.payload = asdict(stored)
    fault = take_fault(host, "job", vm)
    if fault is not None:
        job.final_state = fault.state if fault.state is not None else JOB_EXCEPTION
        job.error_code = fault.code if fault.code is not None else FAILED
        job.error_description = fault.message or "The operation failed."
    return JOB_STARTED, job


# ---------------------------------------------------------------- state changes


def initiate_shutdown(host: HostState, vm: SimVm, *, force: bool) -> int:
    """Msvm_ShutdownComponent.InitiateShutdown; raises ComponentMissing without ICs.

    0 (or 4096, for a `shutdown_job` VM: accepted asynchronously; the method
    has no Job out-parameter) means initiated: the VM turns Off
    `shutdown_seconds` later, unless the guest ignores the request. A guest
    with a locked session answers 32781 unless `force`.
    """
    if vm.guest.ic_version is None or vm.state not in (RUNNING, PAUSED, STOPPING):
        raise ComponentMissing("no shutdown integration component (integration services missing?)")
    fault = take_fault(host, "shutdown", vm)
    if fault is not None:
        return fault.code if fault.code is not None else FAILED
    if vm.state != RUNNING:
        return 32780  # guest not ready (paused)
    if vm.shutdown_at is not None:
        return SHUTDOWN_IN_PROGRESS
    if vm.locked and not force:
        return LOCKED
    if not vm.ignores_shutdown:
        _set_shutdown(host, vm, host.clock_s + max(1, vm.shutdown_seconds))
    return JOB_STARTED if vm.shutdown_job else OK


def request_state_change(host: HostState, vm: SimVm, requested: int) -> tuple[int, Job | None]:
    """Msvm_ComputerSystem.RequestStateChange: 2 start/resume, 3 turn off, 32768 pause, 32769 save.

    A `start` fault applies to starting and resuming alike.
    """
    settle(host)  # the balancer's passes so far saw the VM in its old state
    if requested == RUNNING:
        if vm.state not in (OFF, SAVED, PAUSED):
            return INVALID_STATE, None
        fault = take_fault(host, "start", vm)
        if fault is not None:
            return (fault.code if fault.code is not None else FAILED), None
        if vm.state == PAUSED:  # resume: the partition already holds its memory
            vm.state = RUNNING
            return OK, None
        if host.free_mb() < vm.memory.virtual_quantity:
            return OUT_OF_MEMORY, None
        vm.state = STARTING
        vm.dm = DmCounters(assigned_mb=vm.memory.virtual_quantity,
                           visible_mb=vm.memory.virtual_quantity)
        return JOB_STARTED, _new_job(host, vm, "start", max(1, vm.start_seconds))
    if requested == OFF:
        if vm.state == OFF:
            return INVALID_STATE, None
        _set_shutdown(host, vm, None)
        if vm.state == SAVED:  # discards the saved state
            _power_off(host, vm)
            return OK, None
        vm.state = STOPPING
        return JOB_STARTED, _new_job(host, vm, "stop", STOP_JOB_S)
    if requested == PAUSED:
        if vm.state != RUNNING:
            return INVALID_STATE, None
        vm.state = PAUSED
        return OK, None
    if requested == SAVED:
        if vm.state not in (RUNNING, PAUSED):
            return INVALID_STATE, None
        return JOB_STARTED, _new_job(host, vm, "save", STOP_JOB_S)
    return 32770, None  # not supported by the simulator


