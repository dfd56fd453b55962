"""Run the `discover`, `apply` and `collect` scripts against simulated state.

Each function follows the steps `hvdyn/scripts.py` gives for the real
template, using the WMI rules in `wmi.py`, and returns record dicts exactly
as `hvdyn/protocol.py` documents them. Waiting means advancing the
simulated clock, never sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hvdyn.model import FIELDS
from hvdyn.sim import balancer, wmi
from hvdyn.sim.state import (
    HEARTBEAT_CODES,
    HOLDS_MEMORY,
    JOB_COMPLETED,
    JOB_IN_PROGRESS,
    OFF,
    RUNNING,
    SAVED,
    HostState,
    Job,
    MemoryData,
    SimVm,
)

Record = dict[str, Any]
POLL_S = 1  # the templates poll jobs and states about once a second
MAX_SAMPLES = 10_000
STATE_NAMES = {2: "Running", 3: "Off", 32768: "Paused", 32769: "Saved",
               32770: "Starting", 32774: "Stopping"}


class ParamError(Exception):
    """The script's parameters are not what the contract says."""


def _need(params: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = params.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        raise ParamError(f"parameter {key!r} is missing or not {_kind_name(kind)}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _kinds(kind))


def _settings_param(params: Mapping[str, Any], key: str) -> dict[str, bool | int]:
    raw = _need(params, key, dict)
    out: dict[str, bool | int] = {}
    for name in FIELDS:
        out[name] = _need(raw, name, bool if name == "dynamic" else int)
    return out


def _state_name(code: int) -> str:
    return STATE_NAMES.get(code, str(code))


# ---------------------------------------------------------------- records


def host_record(host: HostState) -> Record:
    return {
        "t": "host",
        "name": host.name,
        "os": host.os,
        "os_version": host.os_version,
        "ps_version": host.ps_version,
        "total_mb": host.total_mb,
        "free_mb": host.free_mb(),
        "reserve_mb": host.registry_reserve_mb,
    }


def _settings(vm: SimVm) -> dict[str, bool | int]:
    return dict(vm.memory.to_settings().as_dict())


def vm_record(vm: SimVm) -> Record:
    """What discovery reads: KVP only from a running guest with ICs."""
    kvp = vm.state == RUNNING and vm.guest.ic_version is not None
    if vm.state in (OFF, SAVED):
        heartbeat: int | None = None
    elif vm.state == RUNNING and vm.guest.ic_version is not None:
        heartbeat = HEARTBEAT_CODES[vm.guest.heartbeat]
    else:
        heartbeat = HEARTBEAT_CODES["no_contact"]
    return {
        "t": "vm",
        "id": vm.id,
        "name": vm.name,
        "state": vm.state,
        **_settings(vm),
        "os": vm.guest.os if kvp else None,
        "os_version": vm.guest.os_version if kvp else None,
        "arch": vm.guest.arch if kvp else None,
        "ic_version": vm.guest.ic_version if kvp else None,
        "heartbeat": heartbeat,
        "clustered": vm.clustered,
    }


def error_record(vm_id: str | None, message: str, code: int | None = None) -> Record:
    return {"t": "error", "id": vm_id, "message": message, "code": code}


def _result(vm_id: str, outcome: str, *, code: int | None = None, message: str | None = None,
            vm: SimVm | None = None, restarted: bool = False) -> Record:
    return {
        "t": "result",
        "id": vm_id,
        "outcome": outcome,
        "code": code,
        "message": message,
        "state": vm.state if vm is not None else 0,
        "restarted": restarted,
        "settings": _settings(vm) if vm is not None else None,
    }


# ---------------------------------------------------------------- discover


def discover(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    records = [host_record(host)]
    for vm in host.vms:
        fault = wmi.take_fault(host, "discover", vm)
        if fault is not None:
            records.append(error_record(vm.id, fault.message or "Get-WmiObject failed", fault.code))
            continue
        records.append(vm_record(vm))
    return records


# ---------------------------------------------------------------- apply


def _wait_job(host: HostState, job: Job, timeout_s: int) -> bool:
    """Poll the job until it leaves JobState 2-6; False past the deadline."""
    deadline = host.clock_s + timeout_s
    while job.job_state in JOB_IN_PROGRESS:
        if host.clock_s >= deadline:
            return False
        wmi.advance(host, POLL_S)
    return True


def _wait_state(host: HostState, vm: SimVm, wanted: int, timeout_s: int) -> bool:
    deadline = host.clock_s + timeout_s
    while vm.state != wanted:
        if host.clock_s >= deadline:
            return False
        wmi.advance(host, POLL_S)
    return True


def _job_failure(job: Job) -> Failure | None:
    if job.job_state == JOB_COMPLETED:
        return None
    return job.error_code or None, (
        f"job ended in JobState {job.job_state}, error {job.error_code}: {job.error_description}"
    )


Failure = tuple[int | None, str]  # (return code or None, message)


def _shut_down(host: HostState, vm: SimVm, params: Mapping[str, Any]) -> Failure | None:
    """Step 4: graceful shutdown, then hard off if allowed. None = the VM is Off."""
    timeout = _need(params, "shutdown_timeout_s", int)
    try:
        code = wmi.initiate_shutdown(host, vm, force=True)
    except wmi.ComponentMissing as exc:
        return None, str(exc)
    if code not in (wmi.OK, 32782):
        return code, f"InitiateShutdown returned {code}"
    if _wait_state(host, vm, OFF, timeout):
        return None
    if not _need(params, "force_off", bool):
        return None, f"the guest did not shut down within {timeout} s (force_off is not set)"
    code, job = wmi.request_state_change(host, vm, OFF)
    if code == wmi.JOB_STARTED and job is not None:
        if not _wait_job(host, job, _need(params, "job_timeout_s", int)):
            return None, "RequestStateChange(3) job did not finish in time"
        failure = _job_failure(job)
        if failure is not None:
            return failure
    elif code != wmi.OK:
        return code, f"RequestStateChange(3) returned {code}"
    return None if vm.state == OFF else (None, "the VM did not turn off")


def _start(host: HostState, vm: SimVm, params: Mapping[str, Any]) -> Failure | None:
    """Step 6: start the VM again and wait for Running. None = running."""
    code, job = wmi.request_state_change(host, vm, RUNNING)
    if code == wmi.OUT_OF_MEMORY:
        return code, "RequestStateChange(2) returned 32778: not enough memory to start the VM"
    if code not in (wmi.OK, wmi.JOB_STARTED):
        return code, f"RequestStateChange(2) returned {code}"
    timeout = _need(params, "start_timeout_s", int)
    if job is not None:
        if not _wait_job(host, job, timeout):
            return None, f"start job did not finish within {timeout} s"
        failure = _job_failure(job)
        if failure is not None:
            return failure
    if not _wait_state(host, vm, RUNNING, timeout):
        return None, f"the VM was not Running within {timeout} s"
    return None


def _apply_vm(host: HostState, item: Mapping[str, Any], params: Mapping[str, Any]) -> Record:
    vm_id = _need(item, "id", str)
    vm = host.vm(vm_id)
    if vm is None:  # step 1
        return _result(vm_id, "failed", message="VM not found")
    expect_state = _need(item, "expect_state", int)
    expect = _settings_param(item, "expect")
    target = _settings_param(item, "target")
    offline = _need(item, "offline", bool)
    restart = _need(item, "restart", bool)
    current = _settings(vm)
    if vm.state != expect_state or current != expect:  # step 2
        diffs = [f"{k} {expect[k]}->{current[k]}" for k in FIELDS if expect[k] != current[k]]
        if vm.state != expect_state:
            diffs.insert(0, f"state {expect_state}->{vm.state}")
        return _result(vm.id, "conflict", vm=vm,
                       message="changed since the plan: " + ", ".join(diffs))
    if current == target:  # step 3
        return _result(vm.id, "unchanged", vm=vm)
    shut_down = False
    if offline and vm.state != OFF:  # step 4
        if vm.state != RUNNING or not restart:
            why = "restart not allowed" if vm.state == RUNNING else "only a Running VM is restarted"
            return _result(vm.id, "pending", vm=vm,
                           message=f"needs the VM Off (it is {_state_name(vm.state)}); {why}")
        stop_failure = _shut_down(host, vm, params)
        if stop_failure is not None:
            return _result(vm.id, "failed", code=stop_failure[0], message=stop_failure[1], vm=vm)
        shut_down = True
    # step 5
    new = MemoryData(
        dynamic=bool(target["dynamic"]),
        virtual_quantity=int(target["startup_mb"]),
        reservation=int(target["minimum_mb"]),
        limit=int(target["maximum_mb"]),
        buffer=int(target["buffer"]),
        weight=int(target["weight"]),
    )
    code, job = wmi.modify_memory(host, vm, new)
    failure: Failure | None = None
    if code == wmi.JOB_STARTED and job is not None:
        timeout = _need(params, "job_timeout_s", int)
        if not _wait_job(host, job, timeout):
            failure = (None, f"ModifyVirtualSystemResources job did not finish within {timeout} s")
        else:
            failure = _job_failure(job)
    elif code == wmi.INVALID_STATE and vm.state != OFF:
        return _result(vm.id, "pending", code=code, vm=vm,
                       message="the host refuses this change while the VM is not Off (32775)")
    elif code != wmi.OK:
        failure = (code, f"ModifyVirtualSystemResources returned {code}")
    restarted = False
    if shut_down:  # step 6, also after a failed modify: never leave the VM off
        start_failure = _start(host, vm, params)
        restarted = vm.state == RUNNING
        if failure is None:
            failure = start_failure
        elif start_failure is not None:
            failure = (failure[0], f"{failure[1]}; restart failed: {start_failure[1]}")
    if failure is not None:  # step 7: read back even after a failure
        return _result(vm.id, "failed", code=failure[0], message=failure[1], vm=vm,
                       restarted=restarted)
    return _result(vm.id, "applied", vm=vm, restarted=restarted)


def apply(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    for key in ("job_timeout_s", "shutdown_timeout_s", "start_timeout_s"):
        _need(params, key, int)
    _need(params, "force_off", bool)
    records: list[Record] = []
    for item in _need(params, "vms", list):
        item_id = item.get("id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise ParamError("a vms entry is not an object")
            records.append(_apply_vm(host, item, params))
        except ParamError as exc:
            records.append(error_record(item_id if isinstance(item_id, str) else None, str(exc)))
    return records


# ---------------------------------------------------------------- collect


def collect(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    samples = _need(params, "samples", int)
    interval = _need(params, "interval_s", int)
    if not 1 <= samples <= MAX_SAMPLES or interval < 1:
        raise ParamError(f"samples must be 1..{MAX_SAMPLES} and interval_s at least 1")
    records: list[Record] = []
    for _ in range(samples):
        wmi.advance(host, interval)
        ts = wmi.now_iso(host)
        for vm in host.vms:
            if vm.state not in HOLDS_MEMORY:
                continue
            ids = [other.id for other in host.vms if other.name == vm.name]
            records.append({"t": "sample", "name": vm.name, "ids": ids, "ts": ts,
                            "counters": balancer.vm_counters(vm)})
        records.append({"t": "balancer", "name": balancer.BALANCER_INSTANCE, "ts": ts,
                        "counters": balancer.balancer_counters(host)})
    records.append(host_record(host))
    return records


# ---------------------------------------------------------------- entry point

SCRIPTS: dict[str, Callable[[HostState, Mapping[str, Any]], list[Record]]] = {
    "discover": discover,
    "apply": apply,
    "collect": collect,
}


def run_script(host: HostState, name: str, params: Mapping[str, Any]) -> list[Record]:
    """Run one script by name; the records it would print between begin and end.

    Bad parameters or an unknown script give one script-level error record
    (id null), as a real script's top-level catch would.
    """
    script = SCRIPTS.get(name)
    if script is None:
        return [error_record(None, f"unknown script {name!r}")]
    try:
        return script(host, params)
    except ParamError as exc:
        return [error_record(None, str(exc))]
