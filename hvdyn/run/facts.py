"""Discovery records -> typed host facts."""

from __future__ import annotations

from hvdyn.core.errors import ProtocolError
from hvdyn.core.model import GuestInfo, Heartbeat, HostFacts, VmFacts, VmState
from hvdyn.powershell.records import HostRecord, ParsedOutput, VmRecord, WarningRecord


def _heartbeat(code: int | None) -> Heartbeat | None:
    if code is None:
        return None
    try:
        return Heartbeat(code)
    except ValueError:
        return Heartbeat.ERROR


def vm_facts(record: VmRecord) -> VmFacts:
    return VmFacts(
        id=record.id,
        name=record.name,
        state=VmState.from_code(record.state),
        memory=record.settings,
        guest=GuestInfo(
            os_name=record.os,
            os_version=record.os_version,
            arch=record.arch,
            ic_version=record.ic_version,
            heartbeat=_heartbeat(record.heartbeat),
        ),
        clustered=record.clustered,
    )


def host_facts(parsed: ParsedOutput, *, host: str) -> HostFacts:
    """Build HostFacts from a discover stream: exactly one host record, any VMs."""
    hosts = parsed.of_type(HostRecord)
    if len(hosts) != 1:
        raise ProtocolError(host, parsed.script, f"expected 1 host record, got {len(hosts)}")
    h = hosts[0]
    vms = sorted((vm_facts(r) for r in parsed.of_type(VmRecord)), key=lambda v: (v.name, v.id))
    return HostFacts(
        name=h.name,
        total_mb=h.total_mb,
        free_mb=h.free_mb,
        reserve_mb=h.reserve_mb,
        os=h.os,
        os_version=h.os_version,
        ps_version=h.ps_version,
        vms=tuple(vms),
        warnings=tuple(w.message for w in parsed.of_type(WarningRecord)),
    )


# ---------------------------------------------------------------- snapshots

SNAPSHOT_VERSION = 1


def facts_to_json(facts: HostFacts) -> dict[str, object]:
    """JSON form of what discovery saw, for `plan --save-snapshot`."""
    return {
        "name": facts.name,
        "total_mb": facts.total_mb,
        "free_mb": facts.free_mb,
        "reserve_mb": facts.reserve_mb,
        "os": facts.os,
        "os_version": facts.os_version,
        "ps_version": facts.ps_version,
        "vms": [
            {
                "id": vm.id,
                "name": vm.name,
                "state": int(vm.state),
                **vm.memory.as_dict(),
                "os": vm.guest.os_name,
                "os_version": vm.guest.os_version,
                "arch": vm.guest.arch,
                "ic_version": vm.guest.ic_version,
                "heartbeat": None if vm.guest.heartbeat is None else int(vm.guest.heartbeat),
                "clustered": vm.clustered,
            }
            for vm in facts.vms
        ],
    }


def facts_from_json(data: dict[str, object], *, host: str, source: str) -> HostFacts:
    """Rebuild HostFacts from `facts_to_json` output, checking it like a record stream."""
    from hvdyn.powershell.record_parser import parse_stream
    from hvdyn.powershell.records import encode_record

    vms = data.get("vms")
    if not isinstance(vms, list):
        raise ProtocolError(host, source, "snapshot host has no 'vms' list")
    host_record = {k: v for k, v in data.items() if k != "vms"}
    records = [{"t": "host", **host_record}, *({"t": "vm", **vm} for vm in vms)]
    lines = [encode_record({"t": "begin", "script": source, "ps": data.get("ps_version")})]
    lines += [encode_record(r) for r in records]
    lines.append(encode_record({"t": "end", "records": len(records) + 1}))
    return host_facts(parse_stream("\n".join(lines), host=host, script=source), host=host)
