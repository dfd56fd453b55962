"""Frozen records that cross module boundaries.

Sizes are whole megabytes (`int`), as Hyper-V's WMI v1 counts them
(`Msvm_MemorySettingData.AllocationUnits = "MB"`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from operator import attrgetter
from typing import Any, Literal, get_args

from hvdyn.core.errors import EXIT_FAILED, EXIT_OK, EXIT_PENDING

# A host's result carries the findings of its safety checks; their home is core.findings.
from hvdyn.core.findings import Finding as Finding

# ---------------------------------------------------------------- sizes

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(MB|GB|TB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_UNIT_MB = {"m": 1, "g": 1024, "t": 1024 * 1024}

MAX_VM_MEMORY_MB = 65536  # 2008 R2 per-VM ceiling (64 GB)
BUFFER_RANGE = (5, 2000)  # percent, SP1
WEIGHT_RANGE = (0, 10000)  # SP1 (pre-SP1 was 0..1000)


def parse_size_mb(text: str) -> int:
    """'512MB', '1.5GB', '2GiB' -> whole MB, exactly (binary units, as Hyper-V counts).

    Raises ValueError with a user-facing message for a missing or unknown
    unit or a fractional number of MB; evenness and range are the caller's.
    """
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size with a unit")
    number, unit = match.groups()
    if "." not in number:  # whole numbers (most sizes): exact without Fraction
        return int(number) * _UNIT_MB[unit[0].lower()]
    mb = Fraction(number) * _UNIT_MB[unit[0].lower()]
    if mb.denominator != 1:
        raise ValueError(f"{text!r} is {float(mb):g}MB, not a whole number of MB")
    return int(mb)


def format_mb(mb: int | None) -> str:
    """Human form of a size in MB: '1GB', '1536MB'."""
    if mb is None:
        return "-"
    if mb and mb % 1024 == 0:
        return f"{mb // 1024}GB"
    return f"{mb}MB"


# ---------------------------------------------------------------- VM state


class VmState(enum.IntEnum):
    """`Msvm_ComputerSystem.EnabledState` (WMI v1)."""

    UNKNOWN = 0
    RUNNING = 2
    OFF = 3
    PAUSED = 32768
    SAVED = 32769
    STARTING = 32770
    SNAPSHOTTING = 32771
    SAVING = 32773
    STOPPING = 32774
    PAUSING = 32776
    RESUMING = 32777

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def is_transitional(self) -> bool:
        return self not in (VmState.RUNNING, VmState.OFF, VmState.PAUSED, VmState.SAVED)

    @classmethod
    def from_code(cls, code: int) -> VmState:
        try:
            return cls(code)
        except ValueError:
            return cls.UNKNOWN

    @classmethod
    def from_label(cls, label: str) -> VmState:
        return cls[label.upper()]


class Heartbeat(enum.IntEnum):
    """`Msvm_HeartbeatComponent.OperationalStatus[0]`."""

    OK = 2
    ERROR = 6
    NO_CONTACT = 12
    LOST_COMMUNICATION = 13


# ---------------------------------------------------------------- settings

# The name of one memory setting, as plans, JSON output, script parameters and the
# journal spell it (contract). A Literal, so that mypy refuses a misspelt name where a
# dict lookup would quietly give None.
SettingName = Literal["dynamic", "startup_mb", "minimum_mb", "maximum_mb", "buffer", "weight"]
FIELDS: tuple[SettingName, ...] = get_args(SettingName)


def format_setting(field: SettingName, value: bool | int) -> str:
    """A setting's value as users read it: static/dynamic, '2GB', '20%', '5000'."""
    if field == "dynamic":
        return "dynamic" if value else "static"
    if field.endswith("_mb"):
        return format_mb(int(value))
    return f"{value}%" if field == "buffer" else str(value)
# Fields Hyper-V on 2008 R2 SP1 changes only while the VM is Off.
OFFLINE_FIELDS: frozenset[SettingName] = frozenset(
    {"dynamic", "startup_mb", "minimum_mb", "maximum_mb"})


@dataclass(frozen=True, slots=True, kw_only=True)
class MemorySettings:
    """What `Msvm_MemorySettingData` holds for one VM.

    startup_mb = VirtualQuantity, minimum_mb = Reservation, maximum_mb = Limit,
    buffer = TargetMemoryBuffer (%), weight = Weight.
    """

    dynamic: bool
    startup_mb: int
    minimum_mb: int
    maximum_mb: int
    buffer: int
    weight: int

    def get(self, name: SettingName) -> bool | int:
        value: bool | int = getattr(self, name)
        return value

    def as_dict(self) -> dict[str, bool | int]:
        """The six settings keyed by name: the JSON form (scripts, plans, the simulator)."""
        return {name: self.get(name) for name in FIELDS}

    def with_values(self, updates: Mapping[SettingName, bool | int]) -> MemorySettings:
        """A copy with some fields replaced (names from FIELDS)."""
        def pick(name: SettingName) -> bool | int:
            return updates[name] if name in updates else self.get(name)

        return MemorySettings(
            dynamic=bool(pick("dynamic")),
            startup_mb=int(pick("startup_mb")),
            minimum_mb=int(pick("minimum_mb")),
            maximum_mb=int(pick("maximum_mb")),
            buffer=int(pick("buffer")),
            weight=int(pick("weight")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GuestInfo:
    """What the integration services report about the guest (KVP + heartbeat)."""

    os_name: str | None = None  # KVP OSName, e.g. "Windows 7 Enterprise"
    os_version: str | None = None  # KVP OSVersion, e.g. "6.1.7601"
    arch: str | None = None  # "x64" | "x86" | None (unknown)
    ic_version: str | None = None  # KVP IntegrationServicesVersion
    heartbeat: Heartbeat | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VmFacts:
    """One VM as discovery saw it; keyed by GUID (`Msvm_ComputerSystem.Name`)."""

    id: str
    name: str
    state: VmState
    memory: MemorySettings
    guest: GuestInfo = field(default_factory=GuestInfo)
    clustered: bool = False
    # When `guest` comes from hvdyn's memory (the VM is not running and reports
    # nothing): the time the integration services last reported it.
    guest_seen: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HostFacts:
    """One Hyper-V host as discovery saw it."""

    name: str
    total_mb: int
    free_mb: int
    reserve_mb: int | None = None  # registry MemoryReserve, when set
    os: str | None = None
    os_version: str | None = None
    ps_version: str | None = None
    vms: tuple[VmFacts, ...] = ()
    warnings: tuple[str, ...] = ()  # what discovery could not read (e.g. the cluster check)


# ---------------------------------------------------------------- inventory


@dataclass(frozen=True, slots=True, kw_only=True)
class HostSpec:
    """One inventory host, typed. Never holds a secret, only where to find one."""

    name: str
    address: str
    transport: str = "winrm"  # winrm | psrp | mock
    groups: tuple[str, ...] = ()
    port: int | None = None
    scheme: str = "http"
    user: str | None = None
    auth: str = "ntlm"
    password_env: str | None = None
    mock_fixture: str | None = None  # absolute path, for transport "mock"
    vars: Mapping[str, Any] = field(default_factory=dict)
    auth_order: tuple[str, ...] = ()  # every method to try, `auth` first (Ansible's list)


# ---------------------------------------------------------------- policy results


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """Where a desired value came from: 'defaults' or a rule, with file position."""

    source: str
    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        where = f" ({self.file}:{self.line})" if self.file else ""
        return f"{self.source}{where}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredValue:
    value: bool | int
    provenance: Provenance


@dataclass(frozen=True, slots=True, kw_only=True)
class Desired:
    """Resolved policy for one VM: only fields the policy manages are present."""

    values: Mapping[SettingName, DesiredValue]
    rules: tuple[str, ...] = ()  # names of the rules that matched, in order

    def get(self, name: SettingName) -> bool | int | None:
        dv = self.values.get(name)
        return None if dv is None else dv.value


# ---------------------------------------------------------------- plan


class ChangeStatus(enum.StrEnum):
    PLANNED = "planned"  # will be applied by `apply`
    PENDING = "pending"  # needs the VM off and no restart is allowed
    BLOCKED = "blocked"  # a safety check or policy error refuses it
    APPLIED = "applied"
    FAILED = "failed"
    CONFLICT = "conflict"  # the VM changed between plan and apply


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    field: SettingName
    current: bool | int
    desired: bool | int
    needs_off: bool
    status: ChangeStatus = ChangeStatus.PLANNED
    reason: str = ""


# Plans of a fleet hold a handful of distinct changes, and they are frozen: one shared
# instance each (a run keeps every plan until it reports; 200,000 VMs' worth of copies
# were most of the garbage collector's work and of the plan's memory).
@lru_cache(maxsize=8192, typed=True)
def make_change(
    name: SettingName, now: bool | int, wanted: bool | int, off: bool, status: ChangeStatus,
    reason: str,
) -> Change:
    """A `Change`, shared with every equal one made before."""
    return Change(
        field=name, current=now, desired=wanted, needs_off=off, status=status, reason=reason
    )


def mark_planned(changes: Iterable[Change], status: ChangeStatus, reason: str
                 ) -> tuple[Change, ...]:
    """The changes still planned take `status` and `reason`; the others keep theirs.

    How a plan blocks a VM, and how apply records what became of its changes.
    """
    return tuple(
        make_change(c.field, c.current, c.desired, c.needs_off, status, reason)
        if c.status is ChangeStatus.PLANNED
        else c
        for c in changes
    )


_STATUS = attrgetter("status")


@dataclass(frozen=True, slots=True, kw_only=True)
class VmPlan:
    vm: VmFacts
    changes: tuple[Change, ...] = ()
    reason: str = ""  # why nothing changes, or why changes wait
    restart: bool = False  # apply will shut the VM down and start it again
    target: MemorySettings | None = None  # full settings to write, when changes go out
    final_state: VmState | None = None  # state the apply script left the VM in

    @property
    def has_work(self) -> bool:
        # `in` over map(attrgetter): the same test as any(c.status == PLANNED), at C speed;
        # asked several times per VM by the checks, the executor and the report.
        return ChangeStatus.PLANNED in map(_STATUS, self.changes)


@dataclass(frozen=True, slots=True, kw_only=True)
class HostPlan:
    host: str
    facts: HostFacts | None
    vms: tuple[VmPlan, ...] = ()


# ---------------------------------------------------------------- scripts


@dataclass(frozen=True, slots=True, kw_only=True)
class Script:
    """A rendered PowerShell script plus the data it was rendered from.

    `params` is JSON-shaped data (dict/list/str/int/bool/None): the mock
    transport executes `name` with `params` against the simulated host; real
    transports send `text`.
    """

    name: str
    params: Mapping[str, Any]
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScriptResult:
    """What came back from running a script: exit code and raw output."""

    rc: int
    stdout: str
    stderr: str = ""
    requests: int = 0  # transport round trips spent, for benchmarks


# ---------------------------------------------------------------- run results


class HostStatus(enum.StrEnum):
    OK = "ok"  # reached; nothing left to do
    CHANGED = "changed"  # apply wrote settings
    DRIFT = "drift"  # changes planned, pending or blocked
    FAILED = "failed"  # a script or a VM failed
    UNREACHABLE = "unreachable"  # transport error


@dataclass(frozen=True, slots=True, kw_only=True)
class HostResult:
    """One host's outcome: its plan (statuses updated after apply) and any error."""

    host: str
    status: HostStatus
    plan: HostPlan
    error: str | None = None
    findings: tuple[Finding, ...] = ()
    scripts: tuple[Script, ...] = ()  # what was (or would be) sent, for --dry-run


def exit_code(results: Sequence[HostResult]) -> int:
    """The exit code of a plan or apply over these hosts (README: Exit codes)."""
    statuses = {r.status for r in results}
    if statuses & {HostStatus.FAILED, HostStatus.UNREACHABLE}:
        return EXIT_FAILED
    if HostStatus.DRIFT in statuses:
        return EXIT_PENDING
    return EXIT_OK
