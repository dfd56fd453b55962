"""Run the `discover`, `apply` and `collect` scripts against simulated state.

Each function follows the steps `hvdyn/powershell/params.py` gives for the real
template, using the WMI rules in `wmi.py`, and returns record dicts exactly
as `hvdyn/powershell/records.py` documents them. Waiting means advancing the
simulated clock, never sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hvdyn.powershell.quoting import is_guid
from hvdyn.sim import balancer, wmi
from hvdyn.sim.apply import apply
from hvdyn.sim.common import (
    CLUSTER_FAILURE,
    ParamError,
    Record,
    error_record,
    need,
    settings_of,
)
from hvdyn.sim.locale import computer_systems
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


def vm_record(vm: SimVm, *, cluster_known: bool = True) -> Record:
    """What discovery reads: KVP only from a running guest with ICs.

    A malformed KVP item is skipped (its value stays null), the rest still
    count. `cluster_known` is false on a node whose cluster provider failed.
    """
    kvp = vm.state == RUNNING and vm.guest.ic_version is not None
    bad = set(vm.guest.kvp_malformed)
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
        "os": vm.guest.os if kvp and "OSName" not in bad else None,
        "os_version": vm.guest.os_version if kvp and "OSVersion" not in bad else None,
        "arch": vm.guest.arch if kvp and "ProcessorArchitecture" not in bad else None,
        "ic_version": (
            vm.guest.ic_version if kvp and "IntegrationServicesVersion" not in bad else None
        ),
        "heartbeat": heartbeat,
        "clustered": vm.clustered and cluster_known,
    }


def listed_vms(host: HostState) -> list[SimVm]:
    """The VMs a script finds: Msvm_ComputerSystem objects whose Name is a GUID, by Name."""
    ids = sorted(cs["Name"] for cs in computer_systems(host) if is_guid(cs["Name"]))
    found = [host.vm(vm_id) for vm_id in ids]
    return [vm for vm in found if vm is not None]


# ---------------------------------------------------------------- discover


def discover(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    records = [host_record(host)]
    if host.cluster == "fails":
        records.append({"t": "warning", "message": CLUSTER_FAILURE})
    for vm in listed_vms(host):
        fault = wmi.take_fault(host, "discover", vm)
        if fault is not None:
            records.append(
                error_record(vm.id, fault.message or "the WMI query for this VM failed", fault.code)
            )
            continue
        records.append(vm_record(vm, cluster_known=host.cluster == "ok"))
    return records


# ---------------------------------------------------------------- collect


def collect(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    samples = _need(params, "samples", int)
    interval = _need(params, "interval_s", int)
    if not 1 <= samples <= MAX_SAMPLES or interval < 1:
        raise ParamError(f"samples must be 1..{MAX_SAMPLES} and interval_s at least 1")
    records: list[Record] = []
    # Counter instances are named by display name: every GUID that shares the name, in a
    # case-insensitive map (a PowerShell @{}). Names do not change while the script runs:
    # worked out once, not per VM per sample.
    ids_by_name: dict[str, list[str]] = {}
    for vm in listed_vms(host):
        ids_by_name.setdefault(vm.name.casefold(), []).append(vm.id)
    for _ in range(samples):
        wmi.advance(host, interval)
        ts = wmi.now_iso(host)
        for vm in host.vms:
            if vm.state not in HOLDS_MEMORY:
                continue
            ids = list(ids_by_name.get(vm.name.casefold(), ()))
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


# ---------------------------------------------------------------- probe

# WinRM 2.0 defaults on 2008 R2 (winrm get winrm/config), as the WSMan: drive shows them.
WINRM_QUOTAS = {
    "MaxEnvelopeSizekb": "150", "MaxTimeoutms": "60000", "Shell\\MaxMemoryPerShellMB": "150",
    "Shell\\MaxShellsPerUser": "5", "Shell\\MaxProcessesPerShell": "15",
    "Shell\\MaxConcurrentUsers": "5", "Shell\\IdleTimeout": "180000",
}
# locale -> Win32_OperatingSystem.Locale (hex LCID) and OSLanguage (decimal LCID)
_LCIDS = {"en-US": "0409", "de-DE": "0407", "fr-FR": "040c", "sv-SE": "041d"}


def probe(host: HostState, params: Mapping[str, Any]) -> list[Record]:
    """What templates/probe.ps1.j2 prints on the simulated host; reads only."""
    delivery = _need(params, "delivery", str)
    _need(params, "exit_code", int)

    def rec(check: str, status: str, value: str | None, data: Any) -> Record:
        return {"t": "probe", "check": check, "status": status, "value": value, "data": data}

    objects = computer_systems(host)
    vm_pairs = sorted({f"{o['Caption']} / {o['Description']}" for o in objects
                       if is_guid(o["Name"])})
    host_pairs = [f"{o['Caption']} / {o['Description']}" for o in objects
                  if not is_guid(o["Name"])]
    vm_count = sum(1 for o in objects if is_guid(o["Name"]))
    english = sum(1 for o in objects if o["Caption"] == "Virtual Machine")
    lcid = _LCIDS[host.locale]
    records = [
        rec("delivery", "ok", delivery, None),
        rec("versions", "ok", f"PowerShell {host.ps_version}, WS-Management stack 2.0, "
            "CLR 2.0.50727.5420", {"powershell": host.ps_version, "clr": "2.0.50727.5420",
                                   "wsman_stack": "2.0", "remoting_protocol": "2.1"}),
        rec("winrm_quotas", "ok", "envelope 150 KB, 150 MB per shell, 5 shells per user",
            dict(WINRM_QUOTAS)),
        rec("locale", "ok", f"UI {host.locale}, format {host.locale}", {
            "os": f"{host.os} {host.os_version}", "os_locale": lcid,
            "os_language": str(int(lcid, 16)), "mui_languages": [host.locale],
            "ui_culture": host.locale, "culture": host.locale}),
        rec("virtualization", "ok", "root\\virtualization answers", None),
        rec("vm_captions", "ok", f"{vm_count} VMs; Caption / Description: " + "; ".join(vm_pairs),
            {"vms_by_guid_name": vm_count, "vms_by_english_caption": english,
             "vm_caption_description": vm_pairs, "host_caption_description": host_pairs}),
    ]
    live = [vm for vm in host.vms if vm.state in HOLDS_MEMORY]
    if host.balancer_counters:
        vm_names = [vm.name for vm in live][:50]
        props = ["Name", *balancer.vm_counters(live[0])] if live else ["Name"]
        records.append(rec("counters_vm", "ok" if live else "no",
                           f"{len(live)} instances: " + ", ".join(vm_names[:5]),
                           {"class": "Win32_PerfFormattedData_BalancerStats_HyperVDynamicMemoryVM",
                            "instances": vm_names, "properties": props}))
        records.append(rec("counters_balancer", "ok", f"1 instances: {balancer.BALANCER_INSTANCE}",
                           {"class": "Win32_PerfFormattedData_BalancerStats_"
                                     "HyperVDynamicMemoryBalancer",
                            "instances": [balancer.BALANCER_INSTANCE],
                            "properties": ["Name", "AvailableMemory", "AveragePressure"]}))
    else:
        for check in ("counters_vm", "counters_balancer"):
            records.append(rec(check, "error", "Invalid class ", 2147749904))
    if host.cluster == "ok":
        count = sum(1 for vm in host.vms if vm.clustered)
        records.append(rec("cluster", "ok", "cluster node: root\\MSCluster answers with packet "
                           f"privacy; {count} VM resources", count))
    elif host.cluster == "fails":
        records.append(rec("cluster", "error", CLUSTER_FAILURE.split(": ", 1)[1], 2147749889))
    else:
        records.append(rec("cluster", "no", "not a cluster node (root\\MSCluster is absent)",
                           None))
    return records


# ---------------------------------------------------------------- entry point

SCRIPTS: dict[str, Callable[[HostState, Mapping[str, Any]], list[Record]]] = {
    "discover": discover,
    "apply": apply,
    "collect": collect,
    "ping": ping,
    "probe": probe,
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
