"""VM checks: one VM's planned settings against its guest and its host.

An error blocks the VM's changes; warnings and infos are shown and do not
block. Each check is one rule (`framework.check`); a VM check says why, and
`check_vm` names the VM.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hvdyn.core.errors import RenderError
from hvdyn.core.findings import Finding, Severity
from hvdyn.core.model import MAX_VM_MEMORY_MB, HostFacts, MemorySettings, VmFacts
from hvdyn.planning.checks.framework import Check, Hit, check
from hvdyn.planning.checks.guest import (
    MIN_IC_VERSION,
    guest_dm_support,
    needs_hotadd_update,
    normalise_os_name,
    version_tuple,
)
from hvdyn.powershell.quoting import ps_single_quote


@dataclass(frozen=True, slots=True, kw_only=True)
class VmContext:
    """What a VM check sees: the VM, the settings hvdyn would write, the host."""

    vm: VmFacts
    target: MemorySettings
    host: HostFacts


# The guest checks (HVD001, HVD002, HVD013) look at the same answer, whether the guest
# is on the list: yes, no, or unknown; at most one of them fires.


@check("HVD001", Severity.ERROR, "guest OS/edition cannot run Dynamic Memory on 2008 R2 SP1")
def guest_unsupported(ctx: VmContext) -> Iterable[Hit]:
    if not ctx.target.dynamic:
        return []
    os_name = ctx.vm.guest.os_name
    if guest_dm_support(os_name) is False:
        return [Hit(
            f"guest OS {os_name!r} cannot run Dynamic Memory on 2008 R2 SP1 "
            "(supported: Windows 7/Vista Enterprise or Ultimate, Server 2003-2008 R2)"
        )]
    return []


@check("HVD002", Severity.WARNING, "Standard/Web edition needs the hot-add memory update")
def hotadd_update_needed(ctx: VmContext) -> Iterable[Hit]:
    if not ctx.target.dynamic:
        return []
    os_name = ctx.vm.guest.os_name
    supported = guest_dm_support(os_name)
    if supported and os_name and needs_hotadd_update(os_name) and not ctx.vm.memory.dynamic:
        return [Hit(f"{os_name!r} needs Microsoft's hot-add memory update for Dynamic Memory")]
    return []


@check("HVD013", Severity.WARNING,
       "Dynamic Memory enabled on a VM whose guest OS is unknown (VM not running)")
def guest_unknown(ctx: VmContext) -> Iterable[Hit]:
    if not ctx.target.dynamic:
        return []
    if guest_dm_support(ctx.vm.guest.os_name) is None and not ctx.vm.memory.dynamic:
        return [Hit(
            "enabling Dynamic Memory on a VM whose guest OS is unknown (the "
            "integration services report it only while the VM runs): check the guest "
            "supports it, or match the rule on something other than `os`"
        )]
    return []


@check("HVD003", Severity.ERROR, "integration services older than 6.1.7601.17514 (SP1)")
def old_integration_services(ctx: VmContext) -> Iterable[Hit]:
    if not ctx.target.dynamic or ctx.vm.memory.dynamic:
        return []
    version = ctx.vm.guest.ic_version
    if version is None:
        return []  # unknown (VM off or KVP not running): nothing to say yet
    parsed = version_tuple(version)
    if parsed is None or parsed < MIN_IC_VERSION:
        return [Hit(
            f"integration services {version} are older than 6.1.7601.17514 (SP1); "
            "install them from the host's SP1 integration services disk first"
        )]
    return []


@check("HVD004", Severity.ERROR, "32-bit Vista/7 guest with maximum above 4096MB (KB983545)")
def x86_client_maximum(ctx: VmContext) -> Iterable[Hit]:
    os_name = normalise_os_name(ctx.vm.guest.os_name or "")
    is_client = os_name.startswith(("windows 7", "windows vista"))
    x86_client = ctx.vm.guest.arch == "x86" and is_client
    if x86_client and ctx.target.dynamic and ctx.target.maximum_mb > 4096:
        return [Hit(
            f"32-bit {ctx.vm.guest.os_name} with maximum "
            f"{ctx.target.maximum_mb}MB: hot-adding memory past 4 GB crashes the guest "
            "(KB983545); cap maximum at 4GB"
        )]
    return []


@check("HVD005", Severity.ERROR, "memory above the 65536MB per-VM ceiling or the host's RAM")
def vm_ceiling(ctx: VmContext) -> Iterable[Hit]:
    largest = max(ctx.target.startup_mb, ctx.target.maximum_mb)
    if largest > MAX_VM_MEMORY_MB:
        return [Hit(
            f"{largest}MB is above the 2008 R2 per-VM ceiling of {MAX_VM_MEMORY_MB}MB"
        )]
    if ctx.target.startup_mb > ctx.host.total_mb:
        return [Hit(
            f"startup {ctx.target.startup_mb}MB is more than the host's "
            f"{ctx.host.total_mb}MB of RAM: the VM could never start"
        )]
    return []


@check("HVD015", Severity.ERROR,
       "VM name holds a character no PowerShell literal can carry (NUL)")
def name_not_quotable(ctx: VmContext) -> Iterable[Hit]:
    """A name the apply script cannot carry would fail the whole host's script."""
    try:
        ps_single_quote(ctx.vm.name)
    except RenderError as exc:
        return [Hit(
            f"the VM's name cannot be written into a script ({exc}); "
            "rename the VM in Hyper-V Manager"
        )]
    return []


# In the order their findings are listed (and joined into a blocked change's reason).
VM_CHECKS: tuple[Check[VmContext], ...] = (
    guest_unsupported,
    hotadd_update_needed,
    guest_unknown,
    old_integration_services,
    x86_client_maximum,
    vm_ceiling,
    name_not_quotable,
)


def check_vm(ctx: VmContext) -> list[Finding]:
    """Every VM check's findings for one VM, tagged with the VM id."""
    return [finding for c in VM_CHECKS for finding in c.run(ctx, vm_id=ctx.vm.id)]
