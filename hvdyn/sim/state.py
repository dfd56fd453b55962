"""Mutable state of one simulated Hyper-V host, and its JSON form.

Plain dataclasses so the WMI rules, the balancer and the script runner can
share one object; `to_json`/`from_json` keep persistence explicit (no
pickling: state files stay readable and diffable).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from hvdyn.core.model import MemorySettings

# EnabledState values (WMI v1) the simulator produces.
RUNNING = 2
OFF = 3
PAUSED = 32768
SAVED = 32769
STARTING = 32770
STOPPING = 32774

STATE_CODES = {"running": RUNNING, "off": OFF, "paused": PAUSED, "saved": SAVED}
# States in which the VM's partition exists and holds host memory.
HOLDS_MEMORY = frozenset({RUNNING, PAUSED, STARTING, STOPPING})

# Msvm_ConcreteJob.JobState
JOB_RUNNING = 4
JOB_COMPLETED = 7
JOB_EXCEPTION = 10
JOB_IN_PROGRESS = frozenset({2, 3, 4, 5, 6})

# HostState fields kept in memory only.
TRANSIENT = frozenset({"balanced_s", "by_id", "shutting_down", "open_jobs"})

HEARTBEAT_CODES = {"ok": 2, "error": 6, "no_contact": 12, "lost": 13}
STATE_VERSION = 1


@dataclass(slots=True)
class MemoryData:
    """`Msvm_MemorySettingData` of one VM (all sizes MB)."""

    dynamic: bool
    virtual_quantity: int  # startup
    reservation: int  # minimum
    limit: int  # maximum
    buffer: int  # TargetMemoryBuffer, %
    weight: int

    def to_settings(self) -> MemorySettings:
        return MemorySettings(
            dynamic=self.dynamic,
            startup_mb=self.virtual_quantity,
            minimum_mb=self.reservation,
            maximum_mb=self.limit,
            buffer=self.buffer,
            weight=self.weight,
        )



@dataclass(slots=True)
class Guest:
    """What the guest's integration services would report (KVP, heartbeat)."""

    os: str | None
    os_version: str | None
    arch: str | None
    ic_version: str | None  # None = no integration services installed
    heartbeat: str = "ok"  # key of HEARTBEAT_CODES, while the VM runs
    kvp_malformed: list[str] = field(default_factory=list)  # KVP items whose XML is broken


@dataclass(slots=True)
class Demand:
    """Parameters of the guest's committed-memory curve (MB)."""

    base_mb: int
    peak_mb: int


@dataclass(slots=True)
class DmCounters:
    """Balancer bookkeeping for one VM since it last started."""

    assigned_mb: int = 0
    visible_mb: int = 0
    added_mb: int = 0
    removed_mb: int = 0
    add_ops: int = 0
    remove_ops: int = 0
    demand_mb: int = 0
    pressures: list[int] = field(default_factory=list)  # recent ticks, newest last


@dataclass(slots=True)
class SimVm:
    id: str
    name: str
    state: int
    memory: MemoryData
    guest: Guest
    demand: Demand
    clustered: bool = False
    shutdown_seconds: int = 15
    start_seconds: int = 5
    ignores_shutdown: bool = False
    locked: bool = False  # a user session is locked: InitiateShutdown(Force=false) -> 32781
    shutdown_job: bool = False  # InitiateShutdown answers 4096 (asynchronous; no Job out-parameter)
    cluster_refreshes: int = 0  # Update-ClusterVirtualMachineConfiguration calls
    shutdown_at: int | None = None  # clock second when a guest shutdown completes
    dm: DmCounters = field(default_factory=DmCounters)


@dataclass(slots=True)
class Job:
    """A `Msvm_ConcreteJob`; its effect is applied when it completes."""

    id: str
    vm_id: str
    kind: str  # modify | start | stop | save
    done_at: int
    job_state: int = JOB_RUNNING
    final_state: int = JOB_COMPLETED
    error_code: int = 0
    error_description: str = ""
    payload: dict[str, Any] | None = None  # modify: MemoryData fields


@dataclass(slots=True)
class Fault:
    """An injected failure; `times` None = every time, else remaining uses.

    ops: modify (return `code`), job (modify job ends in `state`, `code`),
    shutdown (InitiateShutdown returns `code`), start (RequestStateChange(2)
    returns `code`; also resume), discover (the VM's read fails with
    `message`), connect (transport raises `error`: unreachable | auth |
    timeout), drop (the connection drops after the VM's modify, before its
    read-back: the script stops there, the host keeps what it did), edit
    (someone else sets the VM's memory weight to `weight` after discovery,
    as in Hyper-V Manager, just before apply reaches the VM).
    """

    op: str
    vm: str | None = None  # display name or GUID; None = any VM
    code: int | None = None
    state: int | None = None
    error: str | None = None
    message: str | None = None
    times: int | None = None
    weight: int | None = None


@dataclass(slots=True)
class HostState:
    name: str
    os: str
    os_version: str
    ps_version: str
    total_mb: int
    registry_reserve_mb: int | None  # MemoryReserve, when the fixture sets it
    parent_reserve_mb: int  # what the parent partition actually keeps
    online_buffer_weight: bool
    epoch: str  # ISO-8601 UTC of clock second 0
    seed: int
    vms: list[SimVm]
    clock_s: int = 0
    jobs: dict[str, Job] = field(default_factory=dict)
    next_job: int = 1
    faults: list[Fault] = field(default_factory=list)
    fixture_path: str = ""
    fixture_sha256: str = ""
    locale: str = "en-US"  # display language: localized Caption/Description (sim.locale)
    cluster: str = "none"  # none (not a cluster node) | ok | fails (root\MSCluster errors)
    balancer_counters: bool = True  # the DM Balancer perf class answers
    parent_used_mb: int = 0  # memory the parent partition uses now (FreePhysicalMemory)
    # In memory only, never saved (see `TRANSIENT`): the clock second up to which the
    # balancer has run when a script let time pass without it (`wmi.advance(lazy=True)`),
    # and the position of each VM in `vms` by upper-case GUID, for `vm()`.
    balanced_s: int | None = field(default=None, compare=False, repr=False)
    by_id: dict[str, int] | None = field(default=None, compare=False, repr=False)
    # GUIDs of VMs with a guest shutdown under way and ids of jobs in progress (each in
    # the order they began), kept by `wmi`: the clock's next event without a look at
    # every VM and job for each simulated second.
    shutting_down: dict[str, None] | None = field(default=None, compare=False, repr=False)
    open_jobs: dict[str, None] | None = field(default=None, compare=False, repr=False)

    def vm(self, vm_id: str) -> SimVm | None:
        """The VM with this GUID (case-insensitive, as WMI compares it)."""
        wanted = vm_id.upper()
        vms = self.vms
        index = self.by_id
        if index is None or len(index) > len(vms):
            index = self.by_id = {}
            for pos in range(len(vms) - 1, -1, -1):  # the first VM wins, as a scan finds it
                index[vms[pos].id.upper()] = pos
        at = index.get(wanted)
        if at is not None and at < len(vms) and vms[at].id.upper() == wanted:
            return vms[at]
        # Not there, or the list changed since the index was built: scan, and rebuild next time.
        self.by_id = None
        for vm in vms:
            if vm.id.upper() == wanted:
                return vm
        return None

    @property
    def pool_mb(self) -> int:
        """Memory the balancer may hand to VMs."""
        return self.total_mb - self.parent_reserve_mb

    def held_mb(self) -> int:
        return sum(vm.dm.assigned_mb for vm in self.vms if vm.state in HOLDS_MEMORY)

    def free_mb(self) -> int:
        """The balancer's Available Memory: what VMs can still get."""
        return max(0, self.pool_mb - self.held_mb())

    def free_physical_mb(self) -> int:
        """Win32_OperatingSystem.FreePhysicalMemory: counts the unused part of the reserve."""
        return max(0, self.total_mb - self.parent_used_mb - self.held_mb())

    # ------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in TRANSIENT
        }
        data["vms"] = [_plain(vm) for vm in self.vms]
        data["jobs"] = {key: _plain(job) for key, job in self.jobs.items()}
        data["faults"] = [_plain(fault) for fault in self.faults]
        data["version"] = STATE_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"state version {data.get('version')!r} is not {STATE_VERSION}")
        raw = {k: v for k, v in data.items() if k != "version"}
        raw["vms"] = [_vm_from_json(v) for v in raw["vms"]]
        raw["jobs"] = {k: Job(**v) for k, v in raw["jobs"].items()}
        raw["faults"] = [Fault(**f) for f in raw["faults"]]
        return cls(**raw)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """`dataclasses.asdict` for state records: JSON values are shared, not deep-copied.

    Runs for every VM whenever a session ends; asdict passes every value through
    copy.deepcopy, which costs more than the rest of a read-only script.
    """
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None and hasattr(kind, "__dataclass_fields__"):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value


def _vm_from_json(data: dict[str, Any]) -> SimVm:
    raw = dict(data)
    raw["memory"] = MemoryData(**raw["memory"])
    raw["guest"] = Guest(**raw["guest"])
    raw["demand"] = Demand(**raw["demand"])
    raw["dm"] = DmCounters(**raw["dm"])
    return SimVm(**raw)
