"""The simulated host's balancer: demand curves, passes over live state, counters.

How memory is shared (targets, floors, weights) is `hvdyn.balancer`, the
model `hvdyn whatif` replays too; this module supplies the simulated guests'
demand and keeps the counters. Everything is a pure function of the VM id,
the simulated clock and the current state, so runs are repeatable.
"""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import datetime

from hvdyn.balancer import Claim, allocate, claim, pressure
from hvdyn.sim.guest import supports_dm
from hvdyn.sim.state import HOLDS_MEMORY, PAUSED, RUNNING, HostState, SimVm

PRESSURE_WINDOW = 12  # ticks kept for Average/Minimum/Maximum pressure
NOISE_PERIOD_S = 60
NOISE_SHARE = 0.05  # noise amplitude as a share of peak demand

BALANCER_INSTANCE = "System Balancer"


# ---------------------------------------------------------------- demand


def _unit_noise(vm_id: str, slot: int) -> float:
    """Deterministic value in [-1, 1] for one VM and one time slot."""
    digest = hashlib.blake2b(f"{vm_id}:{slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / float(2**64 - 1) * 2.0 - 1.0


@functools.lru_cache(maxsize=64)
def _epoch_second_of_day(epoch: str) -> int:
    start = datetime.fromisoformat(epoch.replace("Z", "+00:00"))
    return start.hour * 3600 + start.minute * 60 + start.second


def demand_mb(vm: SimVm, epoch: str, clock_s: int) -> int:
    """Guest committed memory at a clock second: a daily cycle plus noise.

    Lowest at 03:00 UTC, highest at 15:00; noise is interpolated between
    per-minute values seeded by the VM id, so curves differ per VM.
    """
    seconds = _epoch_second_of_day(epoch) + clock_s
    hours = (seconds / 3600.0) % 24.0
    daily = 0.5 - 0.5 * math.cos(2.0 * math.pi * (hours - 3.0) / 24.0)
    slot, within = divmod(seconds, NOISE_PERIOD_S)
    frac = within / NOISE_PERIOD_S
    noise = (1 - frac) * _unit_noise(vm.id, slot) + frac * _unit_noise(vm.id, slot + 1)
    base, peak = vm.demand.base_mb, vm.demand.peak_mb
    value = base + (peak - base) * daily + NOISE_SHARE * peak * noise
    return max(32, round(value))


# ---------------------------------------------------------------- allocation


def dm_active(vm: SimVm) -> bool:
    """DM is enabled for the VM and its guest has the DM driver."""
    return vm.memory.dynamic and supports_dm(vm.guest)


def claim_for(vm: SimVm, demand: int) -> Claim:
    startup = vm.memory.virtual_quantity
    if vm.state == PAUSED:  # a paused guest neither grows nor gives back
        held = max(vm.dm.assigned_mb, startup)
        return Claim(floor=held, target=held, weight=vm.memory.weight)
    return claim(
        demand_mb=demand, startup_mb=startup, maximum_mb=vm.memory.limit,
        buffer=vm.memory.buffer, weight=vm.memory.weight,
        balloons=vm.state == RUNNING and dm_active(vm),
    )


def rebalance(host: HostState) -> None:
    """One balancer pass at the host's current clock; updates every VM's counters."""
    active = [vm for vm in host.vms if vm.state in HOLDS_MEMORY]
    demands = [demand_mb(vm, host.epoch, host.clock_s) for vm in active]
    claims = [claim_for(vm, d) for vm, d in zip(active, demands, strict=True)]
    for vm, d, new in zip(active, demands, allocate(claims, host.pool_mb), strict=True):
        dm = vm.dm
        old = dm.assigned_mb
        if old and new > old:
            dm.added_mb += new - old
            dm.add_ops += 1
        elif old and new < old:
            dm.removed_mb += old - new
            dm.remove_ops += 1
        dm.assigned_mb = new
        dm.visible_mb = max(dm.visible_mb, new)
        if vm.state == RUNNING:
            dm.demand_mb = d
        dm.pressures.append(pressure(dm.demand_mb, new) if dm_active(vm) else 0)
        del dm.pressures[:-PRESSURE_WINDOW]
    for vm in host.vms:
        if vm.state not in HOLDS_MEMORY:
            vm.dm.assigned_mb = 0


# ---------------------------------------------------------------- counters


def vm_counters(vm: SimVm) -> dict[str, int | None]:
    """The "Hyper-V Dynamic Memory VM" instance of a VM whose partition exists.

    Pressure reads 0 when DM is not active for the VM (reference §6.1).
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
