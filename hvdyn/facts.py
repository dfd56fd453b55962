"""Discovery records -> typed host facts."""

from __future__ import annotations

from hvdyn.errors import ProtocolError
from hvdyn.model import GuestInfo, Heartbeat, HostFacts, VmFacts, VmState
from hvdyn.protocol import HostRecord, ParsedOutput, VmRecord


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
    )
