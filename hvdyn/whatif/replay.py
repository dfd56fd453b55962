"""Replay recorded demand through the balancer model under given settings.

Every tick is one balancer pass (`hvdyn.core.balancer`, the model the simulator
runs): running VMs claim their targets, and when the host's pool cannot
meet them all, `allocate` shares it by floors and Weight. Uncontended ticks
(the common case) are worked out for all VMs and ticks at once; contended
ones go through `allocate` one tick at a time, so both paths are the same
model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hvdyn.core.balancer import Claim, allocate
from hvdyn.core.model import MemorySettings, SettingName
from hvdyn.planning.checks import guest_dm_support
from hvdyn.whatif.history import HostHistory, SettingsChange

if TYPE_CHECKING:
    from numpy.typing import NDArray

_GRID_FIELDS: tuple[SettingName, ...] = ("startup_mb", "maximum_mb", "buffer", "weight")


@dataclass(slots=True, kw_only=True)
class SettingsGrid:
    """Settings in force for every VM (row) at every tick (column)."""

    dynamic: NDArray[np.bool_]
    startup_mb: NDArray[np.int64]
    maximum_mb: NDArray[np.int64]
    buffer: NDArray[np.int64]
    weight: NDArray[np.int64]
    known: NDArray[np.bool_]  # per VM: settings were recorded at all

    def copy(self) -> SettingsGrid:
        return SettingsGrid(dynamic=self.dynamic.copy(), startup_mb=self.startup_mb.copy(),
                            maximum_mb=self.maximum_mb.copy(), buffer=self.buffer.copy(),
                            weight=self.weight.copy(), known=self.known.copy())

    def set_row(self, row: int, settings: MemorySettings, start: int = 0) -> None:
        """Hold `settings` for VM `row` from tick `start` on."""
        self.dynamic[row, start:] = settings.dynamic
        for name in _GRID_FIELDS:
            getattr(self, name)[row, start:] = settings.get(name)
        self.known[row] = True


def recorded_grid(history: HostHistory) -> SettingsGrid:
    """The settings as they were: each recorded change holds until the next one.

    Ticks before a VM's first recorded settings take those first settings.
    """
    shape = history.assigned.shape
    grid = SettingsGrid(
        dynamic=np.zeros(shape, dtype=np.bool_),
        startup_mb=np.zeros(shape, dtype=np.int64), maximum_mb=np.zeros(shape, dtype=np.int64),
        buffer=np.zeros(shape, dtype=np.int64), weight=np.zeros(shape, dtype=np.int64),
        known=np.zeros(shape[0], dtype=np.bool_),
    )
    ticks = np.array(history.ticks)
    for row, vm_id in enumerate(history.vm_ids):
        changes: list[SettingsChange] = history.settings.get(vm_id, [])
        for number, change in enumerate(changes):
            start = 0 if number == 0 else int(np.searchsorted(ticks, change.ts, side="left"))
            grid.set_row(row, change.settings, start)
    return grid


def balloon_capable(history: HostHistory) -> NDArray[np.bool_]:
    """Per VM: its guest can run Dynamic Memory.

    Proven when it ever reported pressure; otherwise judged from the guest OS
    hvdyn last saw (unknown counts as not capable: such a VM holds its startup).
    """
    seen = history.demand_known.any(axis=1)
    by_os = np.array([
        bool(guest_dm_support(history.guests[v].os_name)) if v in history.guests else False
        for v in history.vm_ids
    ], dtype=np.bool_)
    return seen | by_os


@dataclass(slots=True, kw_only=True)
class Outcome:
    """What the model gives each VM at each tick under one set of settings."""

    assigned: NDArray[np.int64]  # MB; 0 where not running
    pressure: NDArray[np.float64]  # nan where demand is unknown or the VM is off
    available: NDArray[np.int64]  # pool less what the VMs hold, per tick
    contended_ticks: int


def model_demand(history: HostHistory) -> NDArray[np.float64]:
    """Demand fed to the model: recorded demand, or (unknown) what the VM held."""
    known = history.demand_known
    return np.where(known, np.nan_to_num(history.demand),
                    history.assigned.astype(np.float64))


def replay(history: HostHistory, grid: SettingsGrid,
           capable: NDArray[np.bool_] | None = None) -> Outcome:
    """Run the balancer model over every tick with `grid`'s settings."""
    if capable is None:
        capable = balloon_capable(history)
    running = history.running
    demand = model_demand(history)
    startup = grid.startup_mb
    ceiling = np.maximum(grid.maximum_mb, startup)
    wanted = np.ceil(demand * (1 + grid.buffer / 100)).astype(np.int64)
    balloons = grid.dynamic & capable[:, None]
    target = np.where(balloons, np.minimum(np.maximum(wanted, startup), ceiling), startup)
    # VMs without recorded settings keep what they were seen holding.
    target = np.where(grid.known[:, None], target, history.assigned)
    floor = np.where(grid.known[:, None], startup, history.assigned)
    target = np.where(running, target, 0)
    floor = np.where(running, floor, 0)
    assigned = target.copy()
    contended = np.nonzero(target.sum(axis=0) > history.pool_mb)[0]
    for column in contended:
        rows = np.nonzero(running[:, column])[0]
        claims = [Claim(floor=int(floor[r, column]), target=int(target[r, column]),
                        weight=int(grid.weight[r, column])) for r in rows]
        for r, value in zip(rows, allocate(claims, int(history.pool_mb[column])), strict=True):
            assigned[r, column] = value
    known = history.demand_known
    with np.errstate(divide="ignore", invalid="ignore"):
        pressure = np.where(known & (assigned > 0),
                            np.round(np.nan_to_num(history.demand) * 100 / assigned), np.nan)
    return Outcome(assigned=assigned, pressure=pressure,
                   available=history.pool_mb - assigned.sum(axis=0),
                   contended_ticks=len(contended))


def proposed_grid(history: HostHistory, current: SettingsGrid,
                  proposals: Mapping[str, MemorySettings]) -> SettingsGrid:
    """The settings as they were, with the VMs the policy would change held at its values."""
    grid = current.copy()
    for row, vm_id in enumerate(history.vm_ids):
        settings = proposals.get(vm_id)
        if settings is not None:
            grid.set_row(row, settings)
    return grid
