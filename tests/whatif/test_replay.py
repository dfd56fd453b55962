"""The replay is the shared balancer model, tick by tick, whichever path a tick takes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hvdyn.core.balancer import allocate, claim, pressure
from hvdyn.core.model import MemorySettings
from hvdyn.whatif.history import HostHistory, SettingsChange
from hvdyn.whatif.replay import recorded_grid, replay

TICKS = [f"2026-01-05T{h:02d}:00:00Z" for h in range(6)]

vm_strategy = st.fixed_dictionaries({
    "dynamic": st.booleans(),
    "startup": st.integers(256, 4096).map(lambda v: v - v % 2),
    "extra": st.integers(0, 8192),
    "buffer": st.integers(5, 200),
    "weight": st.integers(0, 10000),
    "demand": st.lists(st.floats(50, 12000), min_size=len(TICKS), max_size=len(TICKS)),
    "running": st.lists(st.booleans(), min_size=len(TICKS), max_size=len(TICKS)),
})


def _history(vms: list[dict], pool_mb: int) -> HostHistory:  # type: ignore[type-arg]
    shape = (len(vms), len(TICKS))
    assigned = np.zeros(shape, dtype=np.int64)
    pressure_rec = np.full(shape, np.nan)
    for r, vm in enumerate(vms):
        for t in range(len(TICKS)):
            if vm["running"][t]:
                # Record a demand the replay can read back: assigned 1000MB, pressure = demand/10.
                assigned[r, t] = 1000
                pressure_rec[r, t] = vm["demand"][t] / 10
    ids = [f"VM-{i}" for i in range(len(vms))]
    return HostHistory(
        host="h", ticks=TICKS, vm_ids=ids, vm_names=ids, assigned=assigned,
        pressure=pressure_rec, running=assigned > 0,
        pool_mb=np.full(len(TICKS), pool_mb, dtype=np.int64), pool_measured=True,
        total_mb=pool_mb, interval_s=3600.0,
        settings={vm_id: [SettingsChange(ts=TICKS[0], settings=MemorySettings(
            dynamic=vm["dynamic"], startup_mb=vm["startup"], minimum_mb=vm["startup"],
            maximum_mb=vm["startup"] + vm["extra"], buffer=vm["buffer"],
            weight=vm["weight"]))] for vm_id, vm in zip(ids, vms, strict=True)},
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(vm_strategy, min_size=1, max_size=8), st.integers(0, 40000))
def test_every_tick_equals_one_pass_of_the_shared_balancer(vms: list[dict],  # type: ignore[type-arg]
                                                           pool_mb: int) -> None:
    history = _history(vms, pool_mb)
    capable = np.ones(len(vms), dtype=np.bool_)
    outcome = replay(history, recorded_grid(history), capable)
    demand = history.demand
    for t in range(len(TICKS)):
        rows = [r for r, vm in enumerate(vms) if vm["running"][t]]
        claims = [claim(demand_mb=float(demand[r, t]), startup_mb=vms[r]["startup"],
                        maximum_mb=vms[r]["startup"] + vms[r]["extra"], buffer=vms[r]["buffer"],
                        weight=vms[r]["weight"], balloons=vms[r]["dynamic"]) for r in rows]
        expected = allocate(claims, pool_mb)
        assert [int(outcome.assigned[r, t]) for r in rows] == expected
        for r, value in zip(rows, expected, strict=True):
            assert outcome.pressure[r, t] == pressure(float(demand[r, t]), value)
        assert all(outcome.assigned[r, t] == 0 for r in range(len(vms)) if r not in rows)
        assert outcome.available[t] == pool_mb - sum(expected)


def test_settings_change_midway_takes_effect_from_its_tick() -> None:
    vm = {"dynamic": True, "startup": 512, "extra": 1536, "buffer": 20, "weight": 5000,
          "demand": [1000.0] * len(TICKS), "running": [True] * len(TICKS)}
    history = _history([vm], 100000)
    bigger = MemorySettings(dynamic=True, startup_mb=512, minimum_mb=512, maximum_mb=4096,
                            buffer=50, weight=5000)
    history.settings["VM-0"].append(SettingsChange(ts=TICKS[3], settings=bigger))
    outcome = replay(history, recorded_grid(history))
    assert list(outcome.assigned[0]) == [1200, 1200, 1200, 1500, 1500, 1500]
