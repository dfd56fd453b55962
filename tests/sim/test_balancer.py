"""Balancer invariants: bounds, weight under contention, pressure, counters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hvdyn.core.balancer import Claim, allocate, pressure
from hvdyn.sim import balancer, wmi
from hvdyn.sim.state import HostState


@st.composite
def claims(draw: st.DrawFn) -> tuple[list[Claim], int]:
    n = draw(st.integers(1, 12))
    out = []
    for _ in range(n):
        floor = draw(st.integers(8, 4096))
        target = floor + draw(st.integers(0, 8192))
        out.append(Claim(floor=floor, target=target, weight=draw(st.integers(0, 10000))))
    pool = draw(st.integers(sum(c.floor for c in out), sum(c.target for c in out) + 4096))
    return out, pool


@given(claims())
@settings(max_examples=300, deadline=None)
def test_allocation_bounds(case: tuple[list[Claim], int]) -> None:
    cs, pool = case
    alloc = allocate(cs, pool)
    for c, a in zip(cs, alloc, strict=True):
        assert c.floor <= a <= c.target
    assert sum(alloc) <= pool
    if sum(c.target for c in cs) <= pool:
        assert alloc == [c.target for c in cs]
    else:  # under contention nothing is left idle
        assert sum(alloc) == pool


@given(st.integers(1, 10000), st.integers(1, 10000), st.integers(0, 4000))
def test_weight_decides_under_contention(w1: int, w2: int, spare: int) -> None:
    cs = [Claim(floor=1024, target=8192, weight=w1), Claim(floor=1024, target=8192, weight=w2)]
    a, b = allocate(cs, 2048 + spare)
    if w1 > w2:
        assert a >= b
    elif w2 > w1:
        assert b >= a
    assert abs((a - 1024) * w2 - (b - 1024) * w1) <= max(w1, w2) * 2


def test_weight_zero_only_gets_leftovers() -> None:
    cs = [Claim(1024, 4096, 0), Claim(1024, 2048, 100)]
    assert allocate(cs, 3072 + 500) == [1524, 2048]  # the weighted VM is served first
    assert allocate(cs, 2560) == [1024, 1536]


def test_pressure_formula() -> None:
    assert pressure(800, 1000) == 80
    assert pressure(1500, 1000) == 150
    assert pressure(100, 0) == 0


def test_assigned_within_startup_and_maximum(host: HostState) -> None:
    for _ in range(200):
        wmi.advance(host, 300)
        for vm in host.vms:
            if vm.state == 2 and balancer.dm_active(vm):
                assert vm.memory.virtual_quantity <= vm.dm.assigned_mb <= vm.memory.limit
                c = balancer.vm_counters(vm)
                assert c["CurrentPressure"] == pressure(vm.dm.demand_mb, vm.dm.assigned_mb)
                assert c["GuestVisiblePhysicalMemory"] >= c["PhysicalMemory"]  # type: ignore[operator]
            elif vm.state == 2:
                assert vm.dm.assigned_mb == vm.memory.virtual_quantity
                assert balancer.vm_counters(vm)["CurrentPressure"] == 0
            else:
                assert vm.dm.assigned_mb == 0
        assert host.held_mb() <= host.pool_mb


def test_guest_without_dm_support_does_not_balloon(host: HostState) -> None:
    vm = host.vms[0]
    vm.guest.os = "Windows 7 Professional"
    wmi.advance(host, 3600 * 12)
    assert vm.dm.assigned_mb == vm.memory.virtual_quantity
    vm.guest.os = "Windows Server 2008 R2 Enterprise"
    vm.guest.ic_version = "6.1.7600.16385"  # RTM integration services: no DM driver
    wmi.advance(host, 600)
    assert vm.dm.assigned_mb == vm.memory.virtual_quantity


def test_demand_is_deterministic_and_follows_the_day(host: HostState) -> None:
    vm = host.vms[0]
    night = balancer.demand_mb(vm, host.epoch, 3 * 3600)
    afternoon = balancer.demand_mb(vm, host.epoch, 15 * 3600)
    assert night < afternoon
    assert balancer.demand_mb(vm, host.epoch, 12345) == balancer.demand_mb(vm, host.epoch, 12345)


def test_balancer_counters(host: HostState) -> None:
    wmi.advance(host, 60)
    c = balancer.balancer_counters(host)
    assert c["AvailableMemory"] == host.free_mb()
    assert c["SystemCurrentPressure"] is None
