"""WMI v1 rules: Modify return codes, jobs, state rules, shutdown, start admission."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hvdyn.sim import wmi
from hvdyn.sim.state import (
    JOB_COMPLETED,
    JOB_EXCEPTION,
    JOB_IN_PROGRESS,
    OFF,
    RUNNING,
    SAVED,
    STARTING,
    Fault,
    HostState,
    MemoryData,
)


def vm_named(host: HostState, name: str):  # type: ignore[no-untyped-def]
    return next(vm for vm in host.vms if vm.name == name)


def mem(**kw: bool | int) -> MemoryData:
    base = MemoryData(dynamic=True, virtual_quantity=1024, reservation=1024, limit=4096,
                      buffer=20, weight=5000)
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        {"virtual_quantity": 1025, "reservation": 1025},
        {"limit": 4097},
        {"reservation": 1023},
        {"virtual_quantity": 70000, "reservation": 1024, "limit": 70000},
        {"virtual_quantity": 6, "reservation": 6},
        {"limit": 65538},
        {"reservation": 2048},
        {"limit": 512},
        {"buffer": 4},
        {"buffer": 2001},
        {"weight": -1},
        {"weight": 10001},
    ],
)
def test_invalid_values_give_32773(host: HostState, bad: dict[str, int]) -> None:
    vm = vm_named(host, "off-vm")
    before = vm.memory
    code, job = wmi.modify_memory(host, vm, mem(**bad))
    assert (code, job) == (wmi.INVALID_PARAMETER, None)
    assert vm.memory == before


def test_off_vm_modify_starts_job_that_completes(host: HostState) -> None:
    vm = vm_named(host, "off-vm")
    code, job = wmi.modify_memory(host, vm, mem(limit=8192))
    assert code == wmi.JOB_STARTED and job is not None
    assert job.job_state in JOB_IN_PROGRESS
    assert vm.memory.dynamic is False  # nothing changes until the job completes
    wmi.advance(host, wmi.MODIFY_JOB_S)
    assert job.job_state == JOB_COMPLETED
    assert vm.memory == mem(limit=8192)


@pytest.mark.parametrize("name", ["dm-vm", "saved-vm"])
def test_offline_fields_need_off_32775(host: HostState, name: str) -> None:
    vm = vm_named(host, name)
    for change in ({"virtual_quantity": 2048, "reservation": 2048}, {"limit": 2048},
                   {"dynamic": False, "limit": 1024}, {"reservation": 512}):
        target = replace(vm.memory, **change)  # type: ignore[arg-type]
        assert wmi.modify_memory(host, vm, target) == (wmi.INVALID_STATE, None)


def test_buffer_weight_online_follow_the_host_switch(host: HostState) -> None:
    vm = vm_named(host, "dm-vm")
    assert wmi.modify_memory(host, vm, replace(vm.memory, buffer=50, weight=9000)) == (wmi.OK, None)
    assert (vm.memory.buffer, vm.memory.weight) == (50, 9000)
    host.online_buffer_weight = False
    assert wmi.modify_memory(host, vm, replace(vm.memory, buffer=10)) == (wmi.INVALID_STATE, None)
    assert vm.memory.buffer == 50


def test_saved_vm_refuses_buffer_change(host: HostState) -> None:
    vm = vm_named(host, "saved-vm")
    assert vm.state == SAVED
    assert wmi.modify_memory(host, vm, replace(vm.memory, buffer=50))[0] == wmi.INVALID_STATE


def test_static_keeps_limit_and_reservation_equal(host: HostState) -> None:
    vm = vm_named(host, "off-vm")
    code, _job = wmi.modify_memory(host, vm, mem(dynamic=False, virtual_quantity=4096,
                                                reservation=2048, limit=8192))
    assert code == wmi.JOB_STARTED
    wmi.advance(host, 5)
    assert (vm.memory.virtual_quantity, vm.memory.reservation, vm.memory.limit) == (4096,) * 3


def test_modify_fault_code_and_times(host: HostState) -> None:
    vm = vm_named(host, "off-vm")
    host.faults.append(Fault(op="modify", vm="off-vm", code=32774, times=1))
    assert wmi.modify_memory(host, vm, mem())[0] == 32774
    assert wmi.modify_memory(host, vm, mem())[0] == wmi.JOB_STARTED


def test_job_fault_ends_in_exception(host: HostState) -> None:
    vm = vm_named(host, "off-vm")
    host.faults.append(Fault(op="job", vm=vm.id, code=32768, message="disk full"))
    code, job = wmi.modify_memory(host, vm, mem())
    assert code == wmi.JOB_STARTED and job is not None
    wmi.advance(host, 10)
    assert job.job_state == JOB_EXCEPTION and job.error_code == 32768
    assert vm.memory.dynamic is False  # the failed job changed nothing


def test_graceful_shutdown_takes_simulated_time(host: HostState) -> None:
    vm = vm_named(host, "dm-vm")
    assert wmi.initiate_shutdown(host, vm, force=True) == wmi.OK
    assert wmi.initiate_shutdown(host, vm, force=True) == 32782
    wmi.advance(host, 14)
    assert vm.state == RUNNING
    wmi.advance(host, 1)
    assert vm.state == OFF and vm.dm.assigned_mb == 0


def test_shutdown_without_ics_is_impossible(host: HostState) -> None:
    with pytest.raises(wmi.ComponentMissing):
        wmi.initiate_shutdown(host, vm_named(host, "bare-vm"), force=True)


def test_start_needs_free_startup_ram_32778(host: HostState) -> None:
    vm = vm_named(host, "off-vm")
    vm.memory = mem(dynamic=False, virtual_quantity=host.free_mb() + 2,
                    reservation=host.free_mb() + 2, limit=host.free_mb() + 2)
    assert wmi.request_state_change(host, vm, RUNNING) == (wmi.OUT_OF_MEMORY, None)
    vm.memory = mem(dynamic=False, virtual_quantity=2048, reservation=2048, limit=2048)
    code, job = wmi.request_state_change(host, vm, RUNNING)
    assert code == wmi.JOB_STARTED and job is not None and vm.state == STARTING
    wmi.advance(host, vm.start_seconds)
    assert vm.state == RUNNING and vm.dm.assigned_mb == 2048


def test_start_running_vm_is_invalid_state(host: HostState) -> None:
    assert wmi.request_state_change(host, vm_named(host, "dm-vm"), RUNNING)[0] == 32775


def test_hard_off(host: HostState) -> None:
    vm = vm_named(host, "bare-vm")
    code, _job = wmi.request_state_change(host, vm, OFF)
    assert code == wmi.JOB_STARTED
    wmi.advance(host, 1)
    assert vm.state == OFF
    saved = vm_named(host, "saved-vm")
    assert wmi.request_state_change(host, saved, OFF) == (wmi.OK, None)
    assert saved.state == OFF
