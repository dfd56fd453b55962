"""A synthetic fleet history written through the store's own write path."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from hvdyn.history import Store
from hvdyn.history.rows import BalancerRow, SampleRow, VmSettingsRow, format_ts

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, midnight
STEP = timedelta(minutes=5)


def vm_id(k: int) -> str:
    return f"0B000000-0000-4000-8000-{k:012d}"


def workload(k: int, i: int, rng: random.Random) -> tuple[int, int]:
    """(pressure %, assigned MB) of VM k at step i: a daily cycle, weekly drift, noise."""
    hour = (i * STEP.total_seconds() / 3600) % 24
    busy = max(0.0, math.sin((hour - 7) / 12 * math.pi))  # working hours
    base = 1024 + 512 * k
    demand = base * (0.6 + 0.5 * busy + 0.1 * math.sin(i / 2016 * 2 * math.pi))
    demand *= 1 + rng.gauss(0, 0.04)
    assigned = max(512, int(demand / 0.8))
    pressure = round(demand / assigned * 100 + rng.gauss(0, 3))
    return pressure, assigned


def fill(store: Store, host: str, *, vms: int, steps: int, start: datetime = T0,
         batch_steps: int = 12, seed: int = 7, roll_up: bool = True) -> None:
    """`steps` sampling rounds of `vms` VMs, stored `batch_steps` rounds per add_collection."""
    rng = random.Random(seed)
    for first in range(0, steps, batch_steps):
        samples, balancer = [], []
        for i in range(first, min(steps, first + batch_steps)):
            ts = format_ts(start + i * STEP)
            for k in range(vms):
                pressure, assigned = workload(k, i, rng)
                samples.append(SampleRow(host=host, vm_id=vm_id(k), vm_name=f"vm{k}", ts=ts,
                                         physical_mb=assigned, current_pressure=pressure,
                                         average_pressure=pressure))
            balancer.append(BalancerRow(host=host, name="b", ts=ts,
                                        available_mb=1500 + (i % 288) * 5))
        settings = [VmSettingsRow(host=host, vm_id=vm_id(k), vm_name=f"vm{k}", ts=samples[0].ts,
                                  state=2, dynamic=True, startup_mb=1024, minimum_mb=512,
                                  maximum_mb=8192, buffer=20, weight=5000) for k in range(vms)]
        store.add_collection(samples=samples, balancer=balancer, host_memory=[],
                             vm_settings=settings, roll_up=roll_up)
