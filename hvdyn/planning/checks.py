"""Safety checks: small, listed units that turn facts into findings.

Each check has an id, a severity and a one-line summary; the README's table
is generated from `VM_CHECKS` and `checks_host.HOST_CHECKS` (see
`checks_host.checks_table`; `checks_host` imports this module, never the
other way round). Errors block the VM's changes (capacity errors the host's);
warnings and infos are shown and do not block.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from hvdyn.core.errors import RenderError
from hvdyn.core.model import MAX_VM_MEMORY_MB, Finding, HostFacts, MemorySettings, Severity, VmFacts
from hvdyn.powershell.quoting import ps_single_quote

C = TypeVar("C")  # what a check looks at: a VM's or a host's context


@dataclass(frozen=True, slots=True, kw_only=True)
class VmContext:
    """What a VM check sees: the VM, the settings hvdyn would write, the host."""

    vm: VmFacts
    target: MemorySettings
    host: HostFacts


MIN_IC_VERSION = (6, 1, 7601, 17514)  # SP1 integration services (Dynamic Memory VSC)

# Guests Microsoft's Dynamic Memory guide for 2008 R2 SP1 lists as able to use it:
# name pattern -> whether the edition needs the hot-add update.
_SUPPORTED_GUESTS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(r"^windows server 2008 r2 (enterprise|datacenter)\b"), False),
    (re.compile(r"^windows server 2008 r2 (standard|web)\b"), True),
    (re.compile(r"^windows server 2008 (enterprise|datacenter)\b"), False),
    (re.compile(r"^windows server 2008 (standard|web)\b"), True),
    (re.compile(r"^windows server 2003( r2)?,? (enterprise|datacenter)\b"), False),
    (re.compile(r"^windows server 2003( r2)?,? (standard|web)\b"), True),
    (re.compile(r"^windows 7 (enterprise|ultimate)\b"), False),
    (re.compile(r"^windows vista\W* (enterprise|ultimate)\b"), False),
)


_MARKS = re.compile(r"\(r\)|\(tm\)|[®™]")
_BLANKS = re.compile(r"\s+")


# Called several times per VM with a fleet's handful of OS names.
@functools.lru_cache(maxsize=1024)
def normalise_os_name(name: str) -> str:
    """Lower-case OS name without trademark marks and doubled blanks."""
    cleaned = _MARKS.sub("", name.lower())
    return _BLANKS.sub(" ", cleaned).strip()


@functools.lru_cache(maxsize=1024)
def guest_dm_support(os_name: str | None) -> bool | None:
    """True/False when the guest OS is (not) on the SP1 DM list; None when unknown."""
    if not os_name:
        return None
    name = normalise_os_name(os_name)
    return any(p.match(name) for p, _ in _SUPPORTED_GUESTS)


@functools.lru_cache(maxsize=1024)
def _needs_hotadd_update(os_name: str) -> bool:
    name = normalise_os_name(os_name)
    return any(p.match(name) and needs for p, needs in _SUPPORTED_GUESTS)


@functools.lru_cache(maxsize=1024)  # a fleet has a handful of integration services builds
def _version_tuple(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        return None


# ---------------------------------------------------------------- the checks


def check_guest_supported(ctx: VmContext) -> list[Finding]:
    if not ctx.target.dynamic:
        return []
    os_name = ctx.vm.guest.os_name
    supported = guest_dm_support(os_name)
    if supported is False:
        return [
            Finding(
                check="HVD001",
                severity=Severity.ERROR,
                message=f"guest OS {os_name!r} cannot run Dynamic Memory on 2008 R2 SP1 "
                "(supported: Windows 7/Vista Enterprise or Ultimate, Server 2003-2008 R2)",
            )
        ]
    if supported and os_name and _needs_hotadd_update(os_name) and not ctx.vm.memory.dynamic:
        return [
            Finding(
                check="HVD002",
                severity=Severity.WARNING,
                message=f"{os_name!r} needs Microsoft's hot-add memory update for Dynamic Memory",
            )
        ]
    if supported is None and not ctx.vm.memory.dynamic:
        return [
            Finding(
                check="HVD013",
                severity=Severity.WARNING,
                message="enabling Dynamic Memory on a VM whose guest OS is unknown (the "
                "integration services report it only while the VM runs): check the guest "
                "supports it, or match the rule on something other than `os`",
            )
        ]
    return []


def check_integration_services(ctx: VmContext) -> list[Finding]:
    if not ctx.target.dynamic or ctx.vm.memory.dynamic:
        return []
    version = ctx.vm.guest.ic_version
    if version is None:
        return []  # unknown (VM off or KVP not running): nothing to say yet
    parsed = _version_tuple(version)
    if parsed is None or parsed < MIN_IC_VERSION:
        return [
            Finding(
                check="HVD003",
                severity=Severity.ERROR,
                message=f"integration services {version} are older than 6.1.7601.17514 (SP1); "
                "install them from the host's SP1 integration services disk first",
            )
        ]
    return []


def check_x86_client_maximum(ctx: VmContext) -> list[Finding]:
    os_name = normalise_os_name(ctx.vm.guest.os_name or "")
    is_client = os_name.startswith(("windows 7", "windows vista"))
    x86_client = ctx.vm.guest.arch == "x86" and is_client
    if x86_client and ctx.target.dynamic and ctx.target.maximum_mb > 4096:
        return [
            Finding(
                check="HVD004",
                severity=Severity.ERROR,
                message=f"32-bit {ctx.vm.guest.os_name} with maximum "
                f"{ctx.target.maximum_mb}MB: hot-adding memory past 4 GB crashes the guest "
                "(KB983545); cap maximum at 4GB",
            )
        ]
    return []


def check_vm_ceiling(ctx: VmContext) -> list[Finding]:
    largest = max(ctx.target.startup_mb, ctx.target.maximum_mb)
    if largest > MAX_VM_MEMORY_MB:
        return [
            Finding(
                check="HVD005",
                severity=Severity.ERROR,
                message=f"{largest}MB is above the 2008 R2 per-VM ceiling of {MAX_VM_MEMORY_MB}MB",
            )
        ]
    if ctx.target.startup_mb > ctx.host.total_mb:
        return [
            Finding(
                check="HVD005",
                severity=Severity.ERROR,
                message=f"startup {ctx.target.startup_mb}MB is more than the host's "
                f"{ctx.host.total_mb}MB of RAM: the VM could never start",
            )
        ]
    return []


def check_name_quotable(ctx: VmContext) -> list[Finding]:
    """A name the apply script cannot carry would fail the whole host's script."""
    try:
        ps_single_quote(ctx.vm.name)
    except RenderError as exc:
        return [
            Finding(
                check="HVD015",
                severity=Severity.ERROR,
                message=f"the VM's name cannot be written into a script ({exc}); "
                "rename the VM in Hyper-V Manager",
            )
        ]
    return []


@dataclass(frozen=True, slots=True, kw_only=True)
class Check(Generic[C]):
    """One listed check: id, severity, summary for the README, and the function."""

    id: str
    severity: Severity
    summary: str
    run: Callable[[C], list[Finding]]


VM_CHECKS: tuple[Check[VmContext], ...] = (
    Check(
        id="HVD001",
        severity=Severity.ERROR,
        summary="guest OS/edition cannot run Dynamic Memory on 2008 R2 SP1",
        run=check_guest_supported,
    ),
    Check(
        id="HVD002",
        severity=Severity.WARNING,
        summary="Standard/Web edition needs the hot-add memory update",
        run=check_guest_supported,
    ),
    Check(
        id="HVD013",
        severity=Severity.WARNING,
        summary="Dynamic Memory enabled on a VM whose guest OS is unknown (VM not running)",
        run=check_guest_supported,
    ),
    Check(
        id="HVD003",
        severity=Severity.ERROR,
        summary="integration services older than 6.1.7601.17514 (SP1)",
        run=check_integration_services,
    ),
    Check(
        id="HVD004",
        severity=Severity.ERROR,
        summary="32-bit Vista/7 guest with maximum above 4096MB (KB983545)",
        run=check_x86_client_maximum,
    ),
    Check(
        id="HVD005",
        severity=Severity.ERROR,
        summary="memory above the 65536MB per-VM ceiling or the host's RAM",
        run=check_vm_ceiling,
    ),
    Check(
        id="HVD015",
        severity=Severity.ERROR,
        summary="VM name holds a character no PowerShell literal can carry (NUL)",
        run=check_name_quotable,
    ),
)


def check_vm(ctx: VmContext) -> list[Finding]:
    """Every VM check's findings for one VM, each once, tagged with the VM id."""
    seen: set[Callable[[VmContext], list[Finding]]] = set()
    findings: list[Finding] = []
    for check in VM_CHECKS:
        if check.run in seen:
            continue
        seen.add(check.run)
        for finding in check.run(ctx):
            findings.append(
                Finding(
                    check=finding.check,
                    severity=finding.severity,
                    message=finding.message,
                    vm_id=ctx.vm.id,
                )
            )
    return findings
