"""The apply phase of one host, directly: batches, journal order, deadlines, lost connections.

A scripted host stands in for the transport: it answers each apply script
with a `result` record per VM (settings = the target), or loses the
connection after a number of records, handing back what was "received".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from hvdyn.core.errors import ConnectError
from hvdyn.core.model import (
    Change,
    ChangeStatus,
    HostFacts,
    HostPlan,
    HostSpec,
    MemorySettings,
    Script,
    ScriptResult,
    VmFacts,
    VmPlan,
    VmState,
)
from hvdyn.core.vocab import JournalOutcome, Step
from hvdyn.powershell.params import ApplyOptions
from hvdyn.powershell.records import encode_stream
from hvdyn.run.executor import ApplyContext, apply_host, batches
from hvdyn.transport import Transport

SPEC = HostSpec(name="hv1", address="hv1", transport="mock")
BEFORE = MemorySettings(dynamic=True, startup_mb=1024, minimum_mb=1024, maximum_mb=4096,
                        buffer=20, weight=5000)


def _vm(n: int, name: str, *, restart: bool = False, work: bool = True) -> VmPlan:
    facts = VmFacts(id=f"{n:08x}-0000-0000-0000-000000000000", name=name,
                    state=VmState.RUNNING, memory=BEFORE)
    if not work:
        return VmPlan(vm=facts, reason="compliant")
    if restart:
        change = Change(field="startup_mb", current=1024, desired=2048, needs_off=True)
        target = replace(BEFORE, startup_mb=2048, minimum_mb=2048)
    else:
        change = Change(field="maximum_mb", current=4096, desired=8192, needs_off=False)
        target = replace(BEFORE, maximum_mb=8192)
    return VmPlan(vm=facts, changes=(change,), restart=restart, target=target)


PLAN = HostPlan(
    host="hv1",
    facts=HostFacts(name="hv1", total_mb=65536, free_mb=32768),
    vms=(_vm(1, "web-01"), _vm(2, "sql-01", restart=True), _vm(3, "web-02"),
         _vm(4, "idle", work=False), _vm(5, "sql-02", restart=True)),
)


def _result(vm: dict[str, Any], reads_back: dict[str, Any]) -> dict[str, Any]:
    return {"t": "result", "id": vm["id"], "outcome": "applied", "code": None, "message": None,
            "state": 2, "restarted": vm["restart"], "settings": {**vm["target"], **reads_back}}


@dataclass
class ScriptedHost:
    """A transport: each apply script answered in full, or cut after `drops[i]` records."""

    drops: dict[int, int] = field(default_factory=dict)  # script index -> records received
    cut_mid_line: bool = False  # the connection drops inside the next record's line
    reads_back: dict[str, Any] = field(default_factory=dict)  # settings other than the target
    sent: list[list[str]] = field(default_factory=list)  # VM names per script, in order
    timeouts: list[float] = field(default_factory=list)
    closed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        vms = script.params["vms"]
        with self.lock:
            index = len(self.sent)
            self.sent.append([v["name"] for v in vms])
            self.timeouts.append(timeout_s)
        stdout = encode_stream("apply", [_result(v, self.reads_back) for v in vms])
        if index not in self.drops:
            return ScriptResult(rc=0, stdout=stdout)
        lines = stdout.splitlines(keepends=True)
        received = "".join(lines[: 1 + self.drops[index]])  # begin + the records that arrived
        if self.cut_mid_line:
            received += lines[1 + self.drops[index]][:30]
        raise ConnectError("hv1", "connection reset", partial_stdout=received)

    def close(self) -> None:
        self.closed += 1


@dataclass
class Journal:
    """A JournalSink: every call, in order, as (what, VM name, outcome)."""

    calls: list[tuple[str, str, str | None]] = field(default_factory=list)

    def intent(self, host: str, vm_plan: VmPlan) -> None:
        self.calls.append(("intent", vm_plan.vm.name, None))

    def outcome(self, host: str, vm_plan: VmPlan, outcome: JournalOutcome, *,
                after: MemorySettings | None, message: str, state_after: int | None) -> None:
        self.calls.append(("outcome", vm_plan.vm.name, str(outcome)))

    def outcomes(self) -> dict[str, str | None]:
        return {name: outcome for what, name, outcome in self.calls if what == "outcome"}


Steps = list[tuple[Step, tuple[str, ...]]]  # what the progress callback was told


def _context(host: ScriptedHost, journal: Journal, *, progress: Steps | None = None,
             deadline_s: float = 3600.0, stopped: bool = False, max_restarts: int = 1,
             others: list[ScriptedHost] | None = None) -> ApplyContext:
    def transport_for(spec: HostSpec) -> Transport:
        own = ScriptedHost()
        assert others is not None, "a second connection was not expected"
        others.append(own)
        return own

    return ApplyContext(
        spec=SPEC, options=ApplyOptions(), journal=journal, transport_for=transport_for,
        progress=lambda host, step, vms: (progress if progress is not None else []).append(
            (step, vms)),
        stopped=lambda: stopped, deadline=time.monotonic() + deadline_s,
        max_restarts=max_restarts,
    )


def _statuses(vms: dict[str, VmPlan]) -> dict[str, set[ChangeStatus]]:
    return {p.vm.name: {c.status for c in p.changes} for p in vms.values()}


def _reasons(vms: dict[str, VmPlan]) -> dict[str, str]:
    return {p.vm.name: p.reason for p in vms.values()}


def _names(batch: Sequence[VmPlan]) -> list[str]:
    return [v.vm.name for v in batch]


def test_quiet_vms_go_together_then_each_restart_alone() -> None:
    assert [_names(b) for b in batches(PLAN)] == [["web-01", "web-02"], ["sql-01"], ["sql-02"]]


def test_each_batch_is_journaled_before_it_is_sent_and_verified_after() -> None:
    host, journal, progress = ScriptedHost(), Journal(), Steps()
    out = apply_host(_context(host, journal, progress=progress), host, PLAN)
    assert host.sent == [["web-01", "web-02"], ["sql-01"], ["sql-02"]]
    assert journal.calls == [
        ("intent", "web-01", None), ("intent", "web-02", None),
        ("outcome", "web-01", "applied"), ("outcome", "web-02", "applied"),
        ("intent", "sql-01", None), ("outcome", "sql-01", "applied"),
        ("intent", "sql-02", None), ("outcome", "sql-02", "applied"),
    ]
    assert progress == [(Step.APPLY, ("web-01", "web-02")), (Step.RESTART, ("sql-01",)),
                        (Step.RESTART, ("sql-02",))]
    assert set(out.vms) == {v.vm.id for v in PLAN.vms if v.has_work}
    assert all(s == {ChangeStatus.APPLIED} for s in _statuses(out.vms).values())
    assert _reasons(out.vms)["sql-01"] == "applied (VM restarted)"
    assert out.errors == [] and len(out.scripts) == 3
    # 120 s slack + 4 VMs with work x 300 s job + 2 restarts x (600 s shutdown + 300 s start),
    # the same bound for every batch because the deadline is far away
    assert host.timeouts == [3120.0] * 3


def test_a_lost_connection_keeps_the_records_received_and_sends_nothing_more() -> None:
    host, journal = ScriptedHost(drops={0: 1}), Journal()  # web-01's result arrived
    out = apply_host(_context(host, journal), host, PLAN)
    assert host.sent == [["web-01", "web-02"]]
    assert journal.outcomes() == {"web-01": "applied", "web-02": "unknown"}
    assert [c for c in journal.calls if c[0] == "intent"] == [
        ("intent", "web-01", None), ("intent", "web-02", None)]
    statuses, reasons = _statuses(out.vms), _reasons(out.vms)
    assert statuses == {"web-01": {ChangeStatus.APPLIED}, "web-02": {ChangeStatus.FAILED},
                        "sql-01": {ChangeStatus.PENDING}, "sql-02": {ChangeStatus.PENDING}}
    assert reasons["web-02"] == (
        "outcome unknown: connection lost (hv1: connection reset); rerun to converge")
    assert reasons["sql-01"] == reasons["sql-02"] == "not sent: connection to the host lost"
    assert out.errors == ["hv1: connection reset"] and len(out.scripts) == 1


def test_a_restart_batch_lost_with_nothing_received_is_unknown() -> None:
    host, journal = ScriptedHost(drops={1: 0}), Journal()
    out = apply_host(_context(host, journal), host, PLAN)
    assert journal.outcomes() == {"web-01": "applied", "web-02": "applied", "sql-01": "unknown"}
    assert _statuses(out.vms)["sql-01"] == {ChangeStatus.FAILED}
    assert _reasons(out.vms)["sql-02"] == "not sent: connection to the host lost"


def test_a_record_cut_mid_line_is_not_read() -> None:
    host, journal = ScriptedHost(drops={0: 1}, cut_mid_line=True), Journal()
    out = apply_host(_context(host, journal), host, PLAN)
    assert journal.outcomes() == {"web-01": "applied", "web-02": "unknown"}
    assert _statuses(out.vms)["web-02"] == {ChangeStatus.FAILED}


def test_a_read_back_that_differs_from_the_target_fails() -> None:
    host, journal = ScriptedHost(reads_back={"maximum_mb": 6144}), Journal()
    out = apply_host(_context(host, journal), host, replace(PLAN, vms=PLAN.vms[:1]))
    assert journal.outcomes() == {"web-01": "failed"}
    assert _statuses(out.vms) == {"web-01": {ChangeStatus.FAILED}}
    assert _reasons(out.vms)["web-01"] == "read-back differs: maximum_mb is 6144, wanted 8192"


@pytest.mark.parametrize(("deadline_s", "stopped", "why"), [
    (-1.0, False, "not sent: host deadline reached"),
    (3600.0, True, "not sent: run interrupted"),
])
def test_past_the_deadline_or_stopped_nothing_is_sent(deadline_s: float, stopped: bool,
                                                       why: str) -> None:
    host, journal = ScriptedHost(), Journal()
    out = apply_host(_context(host, journal, deadline_s=deadline_s, stopped=stopped), host, PLAN)
    assert host.sent == [] and journal.calls == []
    assert all(s == {ChangeStatus.PENDING} for s in _statuses(out.vms).values())
    assert set(_reasons(out.vms).values()) == {why}


def test_parallel_restarts_each_use_a_connection_of_their_own() -> None:
    host, journal, others = ScriptedHost(), Journal(), list[ScriptedHost]()
    out = apply_host(_context(host, journal, max_restarts=2, others=others), host, PLAN)
    assert host.sent == [["web-01", "web-02"]] and host.closed == 0  # the caller closes it
    assert sorted(o.sent[0][0] for o in others) == ["sql-01", "sql-02"]
    assert all(o.closed == 1 for o in others)
    assert all(s == {ChangeStatus.APPLIED} for s in _statuses(out.vms).values())
