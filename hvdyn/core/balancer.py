"""The Dynamic Memory balancer model shared by the simulator and `hvdyn whatif`.

How Hyper-V on 2008 R2 SP1 shares host memory among running VMs: each
dynamic VM aims for its demand plus the buffer (target = demand x (1 +
buffer%)), never below its startup RAM nor above its maximum; a static VM
holds its startup RAM. When the host cannot meet every target, each VM keeps
its floor and the rest is shared by Weight. Pure functions of plain numbers:
the simulator feeds them its live state, whatif feeds them recorded demand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Claim:
    """One VM's wish for one balancer pass: never below floor, never above target."""

    floor: int
    target: int
    weight: int


def target_mb(demand_mb: float, startup_mb: int, maximum_mb: int, buffer: int) -> int:
    """What a dynamic VM with a DM-capable guest aims for: demand plus buffer, clipped."""
    wanted = math.ceil(demand_mb * (1 + buffer / 100))
    return min(max(wanted, startup_mb), max(maximum_mb, startup_mb))


def claim(
    *, demand_mb: float, startup_mb: int, maximum_mb: int, buffer: int, weight: int,
    balloons: bool,
) -> Claim:
    """The claim of a running VM; `balloons` = DM enabled and the guest has the driver."""
    if not balloons:
        return Claim(floor=startup_mb, target=startup_mb, weight=weight)
    return Claim(floor=startup_mb, target=target_mb(demand_mb, startup_mb, maximum_mb, buffer),
                 weight=weight)


def allocate(claims: Sequence[Claim], pool_mb: int) -> list[int]:
    """Share `pool_mb` among claims: targets if they fit, else floors + weight.

    Weighted water-filling: the memory above the floors is split in
    proportion to Weight, no VM past its target; what a satisfied VM leaves
    goes round again. Weight 0 VMs get memory only when no weighted VM wants
    more. Results are whole MB and never sum above max(pool, sum of floors).
    """
    return allocate_lists(
        [c.floor for c in claims], [c.target for c in claims], [c.weight for c in claims], pool_mb
    )


def allocate_lists(floors: list[int], targets: list[int], weights: list[int], pool_mb: int
                   ) -> list[int]:
    """`allocate` on parallel lists (the simulator runs it at every pass of a short host)."""
    if sum(targets) <= pool_mb:
        return list(targets)
    alloc = list(floors)
    spare = pool_mb - sum(alloc)
    needy = [i for i, (t, f) in enumerate(zip(targets, floors, strict=True)) if t > f]
    while spare > 0 and needy:
        weighted = [i for i in needy if weights[i] > 0]
        group = weighted or needy
        total_w = sum(weights[i] for i in group) if weighted else len(group)
        given = 0
        for i in group:
            w = weights[i] if weighted else 1
            share = spare * w // total_w
            take = min(share, targets[i] - alloc[i])
            alloc[i] += take
            given += take
        spare -= given
        needy = [i for i in needy if alloc[i] < targets[i]]
        if given == 0:  # shares rounded to 0 MB: hand out the rest by weight order
            for i in sorted(group, key=lambda j: (-weights[j], j)):
                if spare == 0:
                    break
                take = min(spare, targets[i] - alloc[i])
                alloc[i] += take
                spare -= take
            needy = [i for i in needy if alloc[i] < targets[i]]
    return alloc


def pressure(demand_mb: float, assigned_mb: int) -> int:
    """Current Pressure: demand / assigned x 100, rounded (0 when nothing is assigned)."""
    return round(demand_mb * 100 / assigned_mb) if assigned_mb > 0 else 0
