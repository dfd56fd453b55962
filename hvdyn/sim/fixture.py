"""Load a simulated-host fixture (YAML) into a fresh `HostState`.

`hvdyn.core.yamlpos` reads the YAML keeping every key path's line and column (as
for policies and inventories); pydantic v2 validates the plain data (unknown
keys rejected) and
each error is reported as `FixtureError(file, line, col, key, message,
allowed)` pointing at the offending node.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from hvdyn.core.errors import FixtureError
from hvdyn.core.fileio import read_input
from hvdyn.core.model import BUFFER_RANGE, MAX_VM_MEMORY_MB, WEIGHT_RANGE, parse_size_mb
from hvdyn.core.yamlpos import KeyPath, YamlDoc, parse_yaml
from hvdyn.powershell.quoting import is_guid
from hvdyn.sim import balancer
from hvdyn.sim.guest import default_os_version
from hvdyn.sim.state import (
    HOLDS_MEMORY,
    STATE_CODES,
    Demand,
    Fault,
    Guest,
    HostState,
    MemoryData,
    SimVm,
)

DEFAULT_EPOCH = "2026-01-05T00:00:00Z"
DEFAULT_IC = "6.1.7601.17514"
DEFAULT_HOST_OS = "Microsoft Windows Server 2008 R2 Enterprise"
_ID_NAMESPACE = uuid.UUID("6f1c52a4-5d8e-4c1b-9a57-0d3f1e2b7c90")
SIZE_HINT = "a size with a unit, e.g. 512MB, 4GB"


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"{value!r} needs a unit ({SIZE_HINT})")
    return parse_size_mb(value)


Size = Annotated[int, BeforeValidator(_size)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class HostModel(_Strict):
    memory: Size
    reserve: Size | None = None
    name: str | None = None
    os: str = DEFAULT_HOST_OS
    os_version: str = "6.1.7601"
    ps_version: str = "2.0"
    online_buffer_weight: bool = True
    locale: Literal["en-US", "de-DE", "fr-FR", "sv-SE"] = "en-US"
    cluster: Literal["none", "ok", "fails"] | None = None  # default: ok when a VM is clustered
    balancer_counters: bool = True
    parent_used: Size | None = None  # default: half the parent reserve


class MemoryModel(_Strict):
    dynamic: bool = False
    startup: Size
    minimum: Size | None = None
    maximum: Size | None = None
    buffer: int = Field(default=20, ge=BUFFER_RANGE[0], le=BUFFER_RANGE[1])
    weight: int = Field(default=5000, ge=WEIGHT_RANGE[0], le=WEIGHT_RANGE[1])

    @model_validator(mode="after")
    def _rules(self) -> MemoryModel:
        for label, value in (
            ("startup", self.startup), ("minimum", self.minimum), ("maximum", self.maximum)
        ):
            if value is None:
                continue
            if value % 2:
                raise ValueError(f"{label} {value}MB is not an even number of MB")
            if not 8 <= value <= MAX_VM_MEMORY_MB:
                raise ValueError(f"{label} {value}MB is outside 8MB..64GB")
        if self.minimum is not None and self.minimum > self.startup:
            raise ValueError("minimum is above startup")
        if self.maximum is not None and self.maximum < self.startup:
            raise ValueError("maximum is below startup")
        if not self.dynamic and self.maximum not in (None, self.startup):
            raise ValueError("a static VM keeps maximum = startup")
        return self


class DemandModel(_Strict):
    base: Size
    peak: Size

    @model_validator(mode="after")
    def _order(self) -> DemandModel:
        if self.peak < self.base:
            raise ValueError("peak is below base")
        return self


_NOT_GIVEN = "\x00default"


class VmModel(_Strict):
    name: str
    id: str | None = None
    state: Literal["running", "off", "saved", "paused"] = "running"
    os: str | None = None
    os_version: str | None = None
    arch: Literal["x64", "x86"] | None = "x64"
    ic_version: str | None = _NOT_GIVEN
    memory: MemoryModel
    demand: DemandModel | None = None
    clustered: bool = False
    heartbeat: Literal["ok", "no_contact", "lost", "error"] = "ok"
    shutdown_seconds: int = Field(default=15, ge=1, le=86400)
    start_seconds: int = Field(default=5, ge=1, le=3600)
    ignores_shutdown: bool = False
    locked: bool = False
    shutdown_job: bool = False
    kvp_malformed: list[
        Literal["OSName", "OSVersion", "ProcessorArchitecture", "IntegrationServicesVersion"]
    ] = []

    @model_validator(mode="after")
    def _guid(self) -> VmModel:
        if self.id is not None and not is_guid(self.id):
            raise ValueError(f"id {self.id!r} is not a GUID")
        return self


class FaultModel(_Strict):
    op: Literal[
        "modify", "job", "shutdown", "start", "heartbeat", "discover", "connect", "drop", "edit"
    ]
    vm: str | None = None
    code: int | None = None
    state: int | None = Field(default=None, ge=8, le=11)
    error: Literal["unreachable", "auth", "timeout"] | None = None
    message: str | None = None
    times: int | None = Field(default=None, ge=0)
    weight: int | None = Field(default=None, ge=WEIGHT_RANGE[0], le=WEIGHT_RANGE[1])

    @model_validator(mode="after")
    def _shape(self) -> FaultModel:
        if (self.op == "edit") != (self.weight is not None):
            raise ValueError("an edit fault needs weight, and weight applies to edit faults only")
        if self.op == "connect" and self.error is None:
            raise ValueError("a connect fault needs error: unreachable | auth | timeout")
        if self.op != "connect" and self.error is not None:
            raise ValueError("error applies to connect faults only")
        return self


class FixtureModel(_Strict):
    host: HostModel
    vms: list[VmModel] = []
    faults: list[FaultModel] = []
    seed: int = 0
    clock: datetime | None = None


# ---------------------------------------------------------------- errors


def _located(doc: YamlDoc, path: KeyPath, message: str, allowed: str | None = None,
             *, key: bool = False) -> FixtureError:
    return doc.located(FixtureError, path, message, allowed, key=key)


def _allowed(model: type[BaseModel] | None) -> str | None:
    return ", ".join(model.model_fields) if model is not None else None


_MODEL_AT: dict[str, type[BaseModel]] = {
    "": FixtureModel, "host": HostModel, "vms": VmModel, "memory": MemoryModel,
    "demand": DemandModel, "faults": FaultModel,
}


def _error_from(exc: ValidationError, doc: YamlDoc) -> FixtureError:
    """The first error in file order; an unknown key wins (a typo explains a 'missing')."""
    found = [
        (err["type"] != "extra_forbidden", _one_error(err, doc))
        for err in exc.errors(include_url=False)
    ]
    found.sort(key=lambda pair: (pair[0], pair[1].line, pair[1].col))
    return found[0][1]


def _one_error(err: ErrorDetails, doc: YamlDoc) -> FixtureError:
    loc: KeyPath = tuple(p for p in err["loc"] if isinstance(p, str | int))
    # Union branches add type names to loc (e.g. 'function-before[...]'): drop them.
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("int", "str"))))
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    allowed: str | None = None
    parent_key = next((p for p in reversed(loc[:-1]) if isinstance(p, str)), "")
    if kind == "extra_forbidden":
        return _located(doc, loc, "unknown key", _allowed(_MODEL_AT.get(parent_key)), key=True)
    if kind == "literal_error":
        ctx = err.get("ctx") or {}
        allowed = str(ctx.get("expected", "")).replace("'", "") or None
        message = f"{err.get('input')!r} is not allowed"
    elif kind == "missing":
        message = "required key is missing"
    elif "size" in message or "unit" in message:
        allowed = SIZE_HINT
    return _located(doc, loc, message, allowed)


# ---------------------------------------------------------------- loading


def parse_fixture(text: str, file: str) -> FixtureModel:
    """Validate fixture text; raise FixtureError pointing at the bad node."""
    return _parse(text, file)[0]


def _parse(text: str, file: str) -> tuple[FixtureModel, YamlDoc]:
    doc = parse_yaml(text, file, FixtureError)
    if doc.data is None:
        raise FixtureError(file, 1, 1, "", "the fixture is empty", "host, vms, faults, seed, clock")
    if not isinstance(doc.data, dict):
        raise _located(doc, (), "the fixture must be a mapping", "host, vms, faults, seed, clock")
    try:
        return FixtureModel.model_validate(doc.data), doc
    except ValidationError as exc:
        raise _error_from(exc, doc) from None


def derived_id(name: str, index: int, seed: int) -> str:
    """A stable GUID for a VM without one: uuid5 of seed, position and name."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{seed}:{index}:{name}")).upper()


def default_reserve_mb(total_mb: int) -> int:
    """Parent reserve when the registry does not set one: an estimate, no documented formula."""
    return 384 + 64 * (total_mb // 1024)


def build_state(
    model: FixtureModel,
    *,
    file: str,
    default_name: str,
    doc: YamlDoc | None = None,
) -> HostState:
    """Turn a validated fixture into host state, at clock second 0, balanced."""
    doc = doc or YamlDoc(file=file, data=None)
    host = model.host
    vms: list[SimVm] = []
    seen_ids: set[str] = set()
    for index, vm in enumerate(model.vms):
        vm_id = (vm.id or derived_id(vm.name, index, model.seed)).upper()
        if vm_id in seen_ids:
            raise _located(doc, ("vms", index, "id"), f"duplicate VM id {vm_id}")
        seen_ids.add(vm_id)
        mem = vm.memory
        startup = mem.startup
        if vm.demand is not None:
            demand = Demand(base_mb=vm.demand.base, peak_mb=vm.demand.peak)
        else:  # no curve given: a guest using 60-90% of its startup RAM
            demand = Demand(base_mb=max(32, startup * 6 // 10), peak_mb=max(32, startup * 9 // 10))
        ic = DEFAULT_IC if vm.ic_version == _NOT_GIVEN else vm.ic_version
        vms.append(
            SimVm(
                id=vm_id,
                name=vm.name,
                state=STATE_CODES[vm.state],
                memory=MemoryData(
                    dynamic=mem.dynamic,
                    virtual_quantity=startup,
                    reservation=mem.minimum if mem.minimum is not None else startup,
                    limit=(mem.maximum or 65536) if mem.dynamic else startup,
                    buffer=mem.buffer,
                    weight=mem.weight,
                ),
                guest=Guest(
                    os=vm.os,
                    os_version=vm.os_version or default_os_version(vm.os),
                    arch=vm.arch,
                    ic_version=ic,
                    heartbeat=vm.heartbeat if ic is not None else "no_contact",
                    kvp_malformed=list(vm.kvp_malformed),
                ),
                demand=demand,
                clustered=vm.clustered,
                shutdown_seconds=vm.shutdown_seconds,
                start_seconds=vm.start_seconds,
                ignores_shutdown=vm.ignores_shutdown,
                locked=vm.locked,
                shutdown_job=vm.shutdown_job,
            )
        )
    parent = host.reserve if host.reserve is not None else default_reserve_mb(host.memory)
    epoch = DEFAULT_EPOCH
    if model.clock is not None:
        clock = model.clock.astimezone(UTC) if model.clock.tzinfo else model.clock
        epoch = clock.strftime("%Y-%m-%dT%H:%M:%SZ")
    state = HostState(
        name=host.name or default_name,
        os=host.os,
        os_version=host.os_version,
        ps_version=host.ps_version,
        total_mb=host.memory,
        registry_reserve_mb=host.reserve,
        parent_reserve_mb=parent,
        online_buffer_weight=host.online_buffer_weight,
        epoch=epoch,
        seed=model.seed,
        vms=vms,
        faults=[Fault(**f.model_dump()) for f in model.faults],
        fixture_path=file,
        locale=host.locale,
        cluster=host.cluster or ("ok" if any(vm.clustered for vm in vms) else "none"),
        balancer_counters=host.balancer_counters,
        parent_used_mb=host.parent_used if host.parent_used is not None else parent // 2,
    )
    needed = sum(vm.memory.virtual_quantity for vm in vms if vm.state in HOLDS_MEMORY)
    if needed > state.pool_mb:
        raise _located(
            doc, ("host", "memory"),
            f"running VMs need {needed}MB of startup RAM but only {state.pool_mb}MB "
            "is left after the parent reserve",
        )
    balancer.rebalance(state)
    return state


def load_fixture(path: str | Path, *, default_name: str | None = None) -> HostState:
    """Read, validate and build a fixture file into fresh host state."""
    file = str(Path(path).absolute())
    raw = read_input(file, FixtureError)
    text = raw.decode("utf-8-sig", errors="replace")
    model, doc = _parse(text, file)
    state = build_state(model, file=file, default_name=default_name or Path(file).stem, doc=doc)
    state.fixture_sha256 = hashlib.sha256(raw).hexdigest()
    return state
