"""A deterministic, realistic simulated fleet: host facts and host specs, in memory.

The mix follows the bundled lab: VDI hosts full of Windows 7 desktops (some
x86, some Professional that cannot run Dynamic Memory, templates), server
hosts with SQL, Windows Server 2003-2008 R2 and Linux guests, in all four
steady states plus a few transitional ones, about half of them drifting from
`examples/lab.yaml`. Display names include quotes, curly quotes, `$(...)` and
non-ASCII text, as real fleets do, so quoting is exercised at full cost.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace

from hvdyn.core.model import (
    GuestInfo,
    Heartbeat,
    HostFacts,
    HostSpec,
    MemorySettings,
    VmFacts,
    VmState,
)
from hvdyn.planning.plan import target_settings
from hvdyn.policy.evaluate import Policy

_DESKTOP_OS = (
    ("Windows 7 Enterprise", 70),
    ("Windows 7 Ultimate", 5),
    ("Windows 7 Professional", 10),
    ("Windows Vista (TM) Enterprise", 5),
)
_SERVER_OS = (
    ("Windows Server 2008 R2 Enterprise", 40),
    ("Windows Server 2008 R2 Standard", 20),
    ("Windows Server 2008 Datacenter", 10),
    ("Windows Server 2003 R2, Enterprise Edition", 10),
    ("CentOS Linux 6.4", 10),
)
_STATES = (
    (VmState.RUNNING, 80),
    (VmState.OFF, 12),
    (VmState.SAVED, 4),
    (VmState.PAUSED, 2),
    (VmState.STARTING, 1),
    (VmState.STOPPING, 1),
)
_HOSTILE = ("O'Brien's desk", "Grüße ‘VM’", "$(Stop-Computer)", "東京-01", "a`b;c|d")
_SIZES_MB = (512, 1024, 2048, 4096, 8192)


def _pick(rng: random.Random, table: tuple[tuple[object, int], ...]) -> object:
    values = [v for v, _ in table]
    weights = [w for _, w in table]
    return rng.choices(values, weights)[0]


def _memory(rng: random.Random, desktop: bool) -> MemorySettings:
    dynamic = rng.random() < 0.7
    startup = rng.choice(_SIZES_MB[:3] if desktop else _SIZES_MB[1:])
    maximum = max(startup, rng.choice(_SIZES_MB[1:] if desktop else (*_SIZES_MB[2:], 16384)))
    return MemorySettings(
        dynamic=dynamic,
        startup_mb=startup,
        minimum_mb=startup if rng.random() < 0.9 else max(32, startup // 2),
        maximum_mb=maximum if dynamic else startup,
        buffer=rng.choice((10, 20, 25)),
        weight=rng.choice((3000, 5000)),
    )


def _vm(rng: random.Random, host_index: int, index: int, desktop: bool) -> VmFacts:
    state = _pick(rng, _STATES)
    assert isinstance(state, VmState)
    if desktop:
        os_name = _pick(rng, _DESKTOP_OS)
        arch = "x86" if rng.random() < 0.1 else "x64"
        name = f"desk-{host_index:04d}-{index:02d}"
        if arch == "x86":
            name = f"desk-x86-{host_index:04d}-{index:02d}"
        if index == 0:
            name = f"template-win7-{host_index:04d}"
    else:
        os_name = _pick(rng, _SERVER_OS)
        arch = "x64"
        name = rng.choice(("app", "web", "sql", "file", "dc")) + f"-{host_index:04d}-{index:02d}"
    if rng.random() < 0.05:
        name = f"{rng.choice(_HOSTILE)} {host_index}-{index}"
    assert isinstance(os_name, str)
    known = state in (VmState.RUNNING, VmState.PAUSED)
    return VmFacts(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper(),
        name=name,
        state=state,
        memory=_memory(rng, desktop),
        guest=GuestInfo(
            os_name=os_name if known else None,
            os_version="6.1.7601" if known else None,
            arch=arch if known else None,
            ic_version=("6.1.7601.17514" if rng.random() < 0.95 else "6.1.7600.16385")
            if known
            else None,
            heartbeat=Heartbeat.OK if state is VmState.RUNNING else None,
        ),
        clustered=rng.random() < 0.1,
    )


def host_kind(index: int) -> str:
    """Every third host is a VDI host; the rest are servers, one in ten full to capacity."""
    if index % 3 == 0:
        return "vdi"
    return "capacity" if index % 10 == 1 else "servers"


def host_name(index: int) -> str:
    return f"hv-{host_kind(index)}-{index:04d}"


def host_facts(index: int, vms_per_host: int, seed: int = 7) -> HostFacts:
    rng = random.Random(seed * 1_000_003 + index)
    kind = host_kind(index)
    total = 96 * 1024 if kind == "capacity" else 256 * 1024
    vms = tuple(
        sorted(
            (_vm(rng, index, i, desktop=kind == "vdi") for i in range(vms_per_host)),
            key=lambda v: (v.name, v.id),
        )
    )
    return HostFacts(
        name=host_name(index),
        total_mb=total,
        free_mb=total // 4,
        reserve_mb=2048,
        os="Microsoft Windows Server 2008 R2 Enterprise",
        os_version="6.1.7601",
        ps_version="2.0",
        vms=vms,
    )


def host_spec(index: int) -> HostSpec:
    return HostSpec(
        name=host_name(index),
        address=f"{host_name(index)}.corp.example",
        transport="mock",
        groups=(host_kind(index), "all"),
    )


def converge_some(policy: Policy, facts: HostFacts, spec: HostSpec, fraction: float) -> HostFacts:
    """Facts where about `fraction` of the VMs already hold what `policy` wants."""
    rng = random.Random(facts.name)
    vms = []
    for vm in facts.vms:
        resolution = policy.resolve(vm, spec)
        if rng.random() < fraction and resolution.desired is not None and not resolution.error:
            vm = replace(vm, memory=target_settings(vm.memory, resolution.desired))
        vms.append(vm)
    return replace(facts, vms=tuple(vms))
