"""Run the `discover`, `apply` and `collect` scripts against simulated state.

Each function follows the steps `hvdyn/scripts.py` gives for the real
template, using the WMI rules in `wmi.py`, and returns record dicts exactly
as `hvdyn/protocol.py` documents them. Waiting means advancing the
simulated clock, never sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hvdyn.sim import balancer, wmi
from hvdyn.sim.apply import apply
from hvdyn.sim.common import ParamError, Record, error_record, need, settings_of
from hvdyn.sim.state import HEARTBEAT_CODES, HOLDS_MEMORY, OFF, RUNNING, SAVED, HostState, SimVm

MAX_SAMPLES = 10_000
_need = need


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
    return settings_of(vm)


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


# ---------------------------------------------------------------- discover


def discover(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    records = [host_record(host)]
    for vm in host.vms:
        fault = wmi.take_fault(host, "discover", vm)
        if fault is not None:
            records.append(
                error_record(vm.id, fault.message or "the WMI query for this VM failed", fault.code)
            )
            continue
        records.append(vm_record(vm))
    return records


# ---------------------------------------------------------------- collect


def collect(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    samples = _need(params, "samples", int)
    interval = _need(params, "interval_s", int)
    if not 1 <= samples <= MAX_SAMPLES or interval < 1:
        raise ParamError(f"samples must be 1..{MAX_SAMPLES} and interval_s at least 1")
    records: list[Record] = []
    # Counter instances are named by display name: every GUID that shares the name.
    # Names do not change while the script runs; worked out once, not per VM per sample.
    ids_by_name: dict[str, list[str]] = {}
    for vm in host.vms:
        ids_by_name.setdefault(vm.name, []).append(vm.id)
    for _ in range(samples):
        wmi.advance(host, interval)
        ts = wmi.now_iso(host)
        for vm in host.vms:
            if vm.state not in HOLDS_MEMORY:
                continue
            ids = list(ids_by_name[vm.name])
            records.append(
                {
                    "t": "sample",
                    "name": vm.name,
                    "ids": ids,
                    "ts": ts,
                    "counters": balancer.vm_counters(vm),
                }
            )
        records.append(
            {
                "t": "balancer",
                "name": balancer.BALANCER_INSTANCE,
                "ts": ts,
                "counters": balancer.balancer_counters(host),
            }
        )
    records.append(host_record(host))
    return records


# ---------------------------------------------------------------- ping


def ping(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    """What templates/ping.ps1.j2 prints: PS version, OS, root\\virtualization answers."""
    delivery = _need(params, "delivery", str)
    os_name = " ".join(part for part in (host.os, host.os_version) if part) or None
    return [
        {
            "t": "ping",
            "ps_version": host.ps_version,
            "os": os_name,
            "virtualization": True,
            "delivery": delivery,
        }
    ]


# ---------------------------------------------------------------- entry point

SCRIPTS: dict[str, Callable[[HostState, Mapping[str, Any]], list[Record]]] = {
    "discover": discover,
    "apply": apply,
    "collect": collect,
    "ping": ping,
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
