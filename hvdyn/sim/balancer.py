"""The simulated host's balancer: demand curves, passes over live state, counters.

How memory is shared (targets, floors, weights) is `hvdyn.core.balancer`, the
model `hvdyn whatif` replays too; this module supplies the simulated guests'
demand, runs the passes and keeps the counters. Everything is a pure function
of the VM id, the simulated clock and the current state, so runs are
repeatable.
"""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import datetime

from hvdyn.core.balancer import Claim, allocate_lists, target_mb
from hvdyn.sim.guest import ic_supports_dm, os_supports_dm, supports_dm
from hvdyn.sim.state import HOLDS_MEMORY, PAUSED, RUNNING, HostState, SimVm

PRESSURE_WINDOW = 12  # ticks kept for Average/Minimum/Maximum pressure
NOISE_PERIOD_S = 60
NOISE_SHARE = 0.05  # noise amplitude as a share of peak demand

BALANCER_INSTANCE = "System Balancer"


# ---------------------------------------------------------------- demand


# A VM's noise for a one-minute slot is asked by every pass in that minute (12 at 5 s
# ticks) and by the next minute's passes; the cache holds a few slots of a big host.
@functools.lru_cache(maxsize=1 << 16)
def _unit_noise(vm_id: str, slot: int) -> float:
    """Deterministic value in [-1, 1] for one VM and one time slot."""
    digest = hashlib.blake2b(f"{vm_id}:{slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / float(2**64 - 1) * 2.0 - 1.0


@functools.lru_cache(maxsize=64)
def _epoch_second_of_day(epoch: str) -> int:
    start = datetime.fromisoformat(epoch.replace("Z", "+00:00"))
    return start.hour * 3600 + start.minute * 60 + start.second


def _daily_and_slot(epoch: str, clock_s: int) -> tuple[float, int, float]:
    """The parts of the demand curve every VM shares at a clock second."""
    seconds = _epoch_second_of_day(epoch) + clock_s
    hours = (seconds / 3600.0) % 24.0
    daily = 0.5 - 0.5 * math.cos(2.0 * math.pi * (hours - 3.0) / 24.0)
    slot, within = divmod(seconds, NOISE_PERIOD_S)
    return daily, slot, within / NOISE_PERIOD_S


def _demand(vm: SimVm, daily: float, slot: int, frac: float) -> int:
    noise = (1 - frac) * _unit_noise(vm.id, slot) + frac * _unit_noise(vm.id, slot + 1)
    base, peak = vm.demand.base_mb, vm.demand.peak_mb
    value = base + (peak - base) * daily + NOISE_SHARE * peak * noise
    return max(32, round(value))


def demand_mb(vm: SimVm, epoch: str, clock_s: int) -> int:
    """Guest committed memory at a clock second: a daily cycle plus noise.

    Lowest at 03:00 UTC, highest at 15:00; noise is interpolated between
    per-minute values seeded by the VM id, so curves differ per VM.
    """
    return _demand(vm, *_daily_and_slot(epoch, clock_s))


# ---------------------------------------------------------------- allocation


def dm_active(vm: SimVm) -> bool:
    """DM is enabled for the VM and its guest has the DM driver."""
    return vm.memory.dynamic and supports_dm(vm.guest)


def claim_for(vm: SimVm, demand: int) -> Claim:
    floor, target, weight = _claim(vm, demand, dm_active(vm))
    return Claim(floor=floor, target=target, weight=weight)


def _claim(vm: SimVm, demand: int, active: bool) -> tuple[int, int, int]:
    """(floor, target, weight) of `claim_for`, without building the object."""
    mem = vm.memory
    startup = mem.virtual_quantity
    if vm.state == PAUSED:  # a paused guest neither grows nor gives back
        held = max(vm.dm.assigned_mb, startup)
        return held, held, mem.weight
    if vm.state != RUNNING or not active:
        return startup, startup, mem.weight
    return startup, target_mb(demand, startup, mem.limit, mem.buffer), mem.weight


def rebalance(host: HostState, clock_s: int | None = None) -> None:
    """One balancer pass at `clock_s` (default: the host's clock); updates every VM's counters.

    Runs for every VM at every simulated tick (a week of 5-minute samples is
    120,000 passes), so it is one loop with `demand_mb`, `claim_for` and
    `dm_active` written out (tests/sim/test_scale.py checks it against them):
    the shared part of the demand curve is worked out once per pass, and no Claim
    objects are built.
    """
    at = host.clock_s if clock_s is None else clock_s
    daily, slot, frac = _daily_and_slot(host.epoch, at)
    keep = 1 - frac
    noise_of = _unit_noise
    os_ok, ic_ok = os_supports_dm, ic_supports_dm
    ceil = math.ceil
    active: list[tuple[SimVm, int, bool]] = []
    floors: list[int] = []
    targets: list[int] = []
    weights: list[int] = []
    wanted_mb = 0
    for vm in host.vms:
        state = vm.state
        if state not in HOLDS_MEMORY:
            vm.dm.assigned_mb = 0
            continue
        vm_id = vm.id
        noise = keep * noise_of(vm_id, slot) + frac * noise_of(vm_id, slot + 1)
        base, peak = vm.demand.base_mb, vm.demand.peak_mb
        demand = max(32, round(base + (peak - base) * daily + NOISE_SHARE * peak * noise))
        mem = vm.memory
        guest = vm.guest
        on = mem.dynamic and os_ok(guest.os) and ic_ok(guest.ic_version)
        startup = mem.virtual_quantity
        if state == PAUSED:  # a paused guest neither grows nor gives back
            floor = target = max(vm.dm.assigned_mb, startup)
        elif state != RUNNING or not on:
            floor = target = startup
        else:
            floor = startup
            wanted = ceil(demand * (1 + mem.buffer / 100))
            target = min(max(wanted, startup), max(mem.limit, startup))
        active.append((vm, demand, on))
        floors.append(floor)
        targets.append(target)
        weights.append(mem.weight)
        wanted_mb += target
    # allocate's first case inline; Claim objects are never built.
    granted = targets if wanted_mb <= host.pool_mb else allocate_lists(
        floors, targets, weights, host.pool_mb
    )
    for (vm, d, on), new in zip(active, granted, strict=True):
        dm = vm.dm
        old = dm.assigned_mb
        if old and new > old:
            dm.added_mb += new - old
            dm.add_ops += 1
        elif old and new < old:
            dm.removed_mb += old - new
            dm.remove_ops += 1
        dm.assigned_mb = new
        if new > dm.visible_mb:
            dm.visible_mb = new
        if vm.state == RUNNING:
            dm.demand_mb = d
        window = dm.pressures
        window.append((round(dm.demand_mb * 100 / new) if new > 0 else 0) if on else 0)
        if len(window) > PRESSURE_WINDOW:
            del window[:-PRESSURE_WINDOW]


# ---------------------------------------------------------------- counters


def vm_counters(vm: SimVm) -> dict[str, int | None]:
    """The "Hyper-V Dynamic Memory VM" instance of a VM whose partition exists.

    Pressure reads 0 when DM is not active for the VM, as the host's counter does.
    """
    dm = vm.dm
    window = dm.pressures or [0]
    active = dm_active(vm)
    return {
        "PhysicalMemory": dm.assigned_mb,
        "GuestVisiblePhysicalMemory": dm.visible_mb,
        "CurrentPressure": window[-1] if active else 0,
        "AveragePressure": round(sum(window) / len(window)) if active else 0,
        "MinimumPressure": min(window) if active else 0,
        "MaximumPressure": max(window) if active else 0,
        "AddedMemory": dm.added_mb,
        "RemovedMemory": dm.removed_mb,
        "MemoryAddOperations": dm.add_ops,
        "MemoryRemoveOperations": dm.remove_ops,
    }


def balancer_counters(host: HostState) -> dict[str, int | None]:
    """The host-wide "Hyper-V Dynamic Memory Balancer" instance."""
    live = [vm for vm in host.vms if vm.state in HOLDS_MEMORY]
    pressures = [vm.dm.pressures[-1] for vm in live if dm_active(vm) and vm.dm.pressures]
    return {
        "AvailableMemory": host.free_mb(),
        "AveragePressure": round(sum(pressures) / len(pressures)) if pressures else 0,
        "AddedMemory": sum(vm.dm.added_mb for vm in live),
        "RemovedMemory": sum(vm.dm.removed_mb for vm in live),
        "MemoryAddOperations": sum(vm.dm.add_ops for vm in live),
        "MemoryRemoveOperations": sum(vm.dm.remove_ops for vm in live),
        "SystemCurrentPressure": None,
        "AvailableMemoryForBalancing": None,
    }
