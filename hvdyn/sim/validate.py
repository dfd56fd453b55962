"""Checking a saved simulated-host state file before the simulator trusts it.

The state files under `<state_dir>/sim/` are written by hvdyn, but they are
plain JSON on disk: a hand edit, a bad merge or a truncated copy must give
a clear error naming the file and the field, never a traceback or a
simulator quietly running on nonsense (`[]`, two VMs with one GUID,
EnabledState 99, a clock at 1e30 seconds).
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from hvdyn.powershell.quoting import is_guid
from hvdyn.sim.state import (
    HEARTBEAT_CODES,
    OFF,
    PAUSED,
    RUNNING,
    SAVED,
    STARTING,
    STATE_VERSION,
    STOPPING,
    HostState,
)

# EnabledState values the simulator itself produces.
KNOWN_STATES = frozenset({RUNNING, OFF, PAUSED, SAVED, STARTING, STOPPING})
MAX_CLOCK_S = 100 * 366 * 86400  # a century of simulated time
MAX_COUNT = 2**31 - 1  # WMI's sint32/uint32 sizes in MB, counters


class InvalidState(ValueError):
    """The state file's content is not a state the simulator could have written."""


@functools.cache
def _adapter() -> TypeAdapter[HostState]:
    return TypeAdapter(HostState)


def parse_state(text: str) -> HostState:
    """Parse and check the JSON text of a state file; `InvalidState` says what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidState(f"line {exc.lineno} column {exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise InvalidState("nested too deeply to be a simulator state") from None
    return check_state(data)


def check_state(data: Any) -> HostState:
    """The `HostState` in `data` (decoded JSON), after checking its shape and values."""
    if not isinstance(data, dict):
        raise InvalidState(f"a JSON object is expected, not {type(data).__name__}")
    if data.get("version") != STATE_VERSION:
        raise InvalidState(f"state version {data.get('version')!r:.40} is not {STATE_VERSION}")
    raw = {k: v for k, v in data.items() if k != "version"}
    try:
        typed = _adapter().validate_python(raw)  # types of every field, nested
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise InvalidState(f"{where}: {first['msg']}") from None
    _check_values(typed)
    try:
        return HostState.from_json(data)
    except (TypeError, KeyError, ValueError) as exc:
        raise InvalidState(str(exc)) from None


def _range(where: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        shown = str(value) if len(str(value)) <= 20 else f"{value:.3g}"
        raise InvalidState(f"{where}: {shown} is outside {low}..{high}")


def _check_values(state: HostState) -> None:
    _range("clock_s", state.clock_s, 0, MAX_CLOCK_S)
    _range("total_mb", state.total_mb, 1, MAX_COUNT)
    _range("parent_reserve_mb", state.parent_reserve_mb, 0, state.total_mb)
    _range("next_job", state.next_job, 1, MAX_COUNT)
    try:
        datetime.strptime(state.epoch, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise InvalidState(f"epoch: {state.epoch!r:.40} is not YYYY-MM-DDTHH:MM:SSZ") from None
    seen: dict[str, int] = {}
    for index, vm in enumerate(state.vms):
        at = f"vms[{index}]"
        if not is_guid(vm.id):
            raise InvalidState(f"{at}.id: {vm.id!r:.60} is not a GUID")
        first = seen.setdefault(vm.id.upper(), index)
        if first != index:
            raise InvalidState(f"{at}.id: GUID {vm.id} is also the id of vms[{first}]")
        if vm.state not in KNOWN_STATES:
            known = ", ".join(str(s) for s in sorted(KNOWN_STATES))
            raise InvalidState(f"{at}.state: EnabledState {vm.state} is not one the simulator "
                               f"produces ({known})")
        if vm.guest.heartbeat not in HEARTBEAT_CODES:
            raise InvalidState(f"{at}.guest.heartbeat: {vm.guest.heartbeat!r:.40} is not one of "
                               + ", ".join(HEARTBEAT_CODES))
        if vm.shutdown_at is not None:
            _range(f"{at}.shutdown_at", vm.shutdown_at, 0, MAX_CLOCK_S)
        memory = vm.memory
        for name in ("virtual_quantity", "reservation", "limit", "buffer", "weight"):
            _range(f"{at}.memory.{name}", getattr(memory, name), 0, MAX_COUNT)
        for name in ("assigned_mb", "visible_mb", "added_mb", "removed_mb", "demand_mb"):
            _range(f"{at}.dm.{name}", getattr(vm.dm, name), 0, MAX_COUNT)
    for index, fault in enumerate(state.faults):
        if fault.weight is not None:
            _range(f"faults[{index}].weight", fault.weight, 0, MAX_COUNT)
    for job_id, job in state.jobs.items():
        if job.vm_id.upper() not in seen:
            raise InvalidState(f"jobs.{job_id:.40}.vm_id: no VM has GUID {job.vm_id!r:.60}")
        _range(f"jobs.{job_id:.40}.done_at", job.done_at, 0, MAX_CLOCK_S)
