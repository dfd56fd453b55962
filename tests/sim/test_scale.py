"""The simulator's cost does not grow with VMs x simulated seconds (apply stays linear).

No timings: these count balancer passes and compare the fast paths with the
plain definitions they replace, so they fail for the reason, not the machine.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from hvdyn.core.balancer import allocate
from hvdyn.sim import balancer, load_fixture, run_script, session, state_path, wmi
from hvdyn.sim.state import HOLDS_MEMORY, JOB_IN_PROGRESS, OFF, HostState, SimVm


def _many(vms: int, *, off_every: int = 2) -> str:
    lines = ["host: {memory: 512GB, reserve: 4GB, online_buffer_weight: true}", "vms:"]
    for i in range(vms):
        off = i % off_every == 0
        lines += [
            f"  - name: vm-{i:03d}",
            f"    id: {str(uuid.uuid5(uuid.NAMESPACE_DNS, f'scale/{i}')).upper()}",
            f"    state: {'off' if off else 'running'}",
            "    os: Windows Server 2008 R2 Enterprise",
            "    memory: {dynamic: true, startup: 1GB, maximum: 4GB, buffer: 20, weight: 5000}",
            "    demand: {base: 600MB, peak: 1500MB}",
        ]
    return "\n".join(lines) + "\n"


def _apply_params(host: HostState) -> dict[str, object]:
    """Buffer 25 for every VM: a modify job for each Off VM, an online change for the others."""
    vms = []
    for vm in host.vms:
        now = vm.memory.to_settings().as_dict()
        vms.append({
            "id": vm.id, "name": vm.name, "expect_state": vm.state, "expect": now,
            "target": {**now, "buffer": 25}, "offline": False, "restart": False,
        })
    return {"host": host.name, "job_timeout_s": 300, "shutdown_timeout_s": 600,
            "start_timeout_s": 300, "force_off": False, "vms": vms}


def _count_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = balancer.rebalance

    def counting(host: HostState, clock_s: int | None = None) -> None:
        calls.append(1)
        real(host, clock_s)

    monkeypatch.setattr(balancer, "rebalance", counting)
    return calls


@pytest.mark.parametrize("vms", [20, 80])
def test_apply_runs_a_bounded_number_of_balancer_passes(
    write_fixture: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, vms: int
) -> None:
    # Each Off VM's modify job takes 2 simulated seconds; a pass over every VM for each
    # of those seconds made apply quadratic in VMs per host.
    host = load_fixture(write_fixture(_many(vms)))
    passes = _count_passes(monkeypatch)
    started = host.clock_s
    records = run_script(host, "apply", _apply_params(host))
    assert [r["outcome"] for r in records] == ["applied"] * vms
    assert host.clock_s - started >= vms  # the jobs did take simulated time
    assert len(passes) <= 61  # one long wait's worth of passes, whatever the VM count
    assert host.balanced_s is None  # settled before the state is saved


def test_lazy_waits_end_with_the_same_allocation(write_fixture: Callable[..., Path]) -> None:
    """Allocation at a clock second depends on that second, not on how often passes ran."""
    eager = load_fixture(write_fixture(_many(12, off_every=3)))
    lazy = copy.deepcopy(eager)
    for _ in range(37):
        wmi.advance(eager, 1)
        wmi.advance(lazy, 1, lazy=True)
    assert lazy.balanced_s is not None
    wmi.settle(lazy)
    assert lazy.clock_s == eager.clock_s
    assert [v.dm.assigned_mb for v in lazy.vms] == [v.dm.assigned_mb for v in eager.vms]
    assert lazy.free_mb() == eager.free_mb()


def test_lazy_wait_settles_before_a_vm_stops(write_fixture: Callable[..., Path]) -> None:
    host = load_fixture(write_fixture(_many(4, off_every=5)))
    vm = host.vms[1]
    assert wmi.initiate_shutdown(host, vm, force=False) == wmi.OK
    for _ in range(vm.shutdown_seconds + 1):
        wmi.advance(host, 1, lazy=True)
    assert vm.state == OFF and vm.dm.assigned_mb == 0
    wmi.settle(host)
    assert vm.dm.assigned_mb == 0
    assert all(v.dm.assigned_mb > 0 for v in host.vms if v.state in HOLDS_MEMORY)


def _reference_pass(host: HostState) -> list[int]:
    """What one pass allocates, from the public per-VM definitions."""
    active = [vm for vm in host.vms if vm.state in HOLDS_MEMORY]
    claims = [balancer.claim_for(vm, balancer.demand_mb(vm, host.epoch, host.clock_s))
              for vm in active]
    return allocate(claims, host.pool_mb)


@pytest.mark.parametrize("memory", ["512GB", "26GB"])  # plenty, then short of memory
def test_rebalance_matches_the_per_vm_definitions(
    write_fixture: Callable[..., Path], memory: str
) -> None:
    text = _many(30, off_every=4).replace("memory: 512GB", f"memory: {memory}")
    host = load_fixture(write_fixture(text))
    for step in (5, 300, 3600):
        host.clock_s += step
        expected = _reference_pass(host)
        balancer.rebalance(host)
        active: list[SimVm] = [vm for vm in host.vms if vm.state in HOLDS_MEMORY]
        assert [vm.dm.assigned_mb for vm in active] == expected


def test_vm_lookup_follows_changes_to_the_list(host: HostState) -> None:
    first = host.vms[0]
    assert host.vm(first.id.lower()) is first
    replacement = copy.deepcopy(host.vms[1])
    replacement.id = "00000000-0000-0000-0000-000000000001"
    host.vms[1] = replacement
    assert host.vm(replacement.id) is replacement
    host.vms.pop(0)
    assert host.vm(first.id) is None
    assert host.vm(replacement.id) is replacement


def test_collect_sample_ids_group_vms_by_name(write_fixture: Callable[..., Path]) -> None:
    text = _many(6, off_every=7).replace("vm-003", "vm-001")
    host = load_fixture(write_fixture(text))
    samples = [r for r in run_script(host, "collect", {"host": "h", "samples": 2,
                                                        "interval_s": 300}) if r["t"] == "sample"]
    twins = [r for r in samples if r["name"] == "vm-001"]
    assert len(twins) == 4 and all(len(r["ids"]) == 2 for r in twins)


def test_first_contact_saves_state_only_when_a_script_changes_it(
    tmp_path: Path, small_path: Path
) -> None:
    # Writing a file per host on first contact cost more than the discover itself
    # (bench.fanout, cold); state built from a fixture is built the same next time.
    state_dir = tmp_path / "state"
    path = state_path(state_dir, "h", small_path)
    with session(state_dir, "h", small_path) as host:
        run_script(host, "discover", {"host": "h"})
    assert not path.exists()
    with session(state_dir, "h", small_path) as host:
        assert host.clock_s == 0  # rebuilt from the fixture, unchanged
        wmi.advance(host, 60)
    assert path.exists()
    saved = path.read_text("utf-8")
    with session(state_dir, "h", small_path) as host:
        assert host.clock_s == 60
        run_script(host, "discover", {"host": "h"})
    assert path.read_text("utf-8") == saved  # a read-only script leaves the file alone


def test_events_under_way_survive_a_save_and_load(write_fixture: Callable[..., Path]) -> None:
    # The clock finds its next event from the shutdowns and jobs under way (kept in
    # memory only); a state saved mid-shutdown must still complete it after loading.
    host = load_fixture(write_fixture(_many(4, off_every=5)))
    vm = host.vms[2]
    assert wmi.initiate_shutdown(host, vm, force=False) == wmi.OK
    assert wmi.modify_memory(host, host.vms[0], host.vms[0].memory)[0] == wmi.JOB_STARTED
    loaded = HostState.from_json(host.to_json())
    assert loaded.shutting_down is None and loaded.open_jobs is None
    wmi.advance(loaded, vm.shutdown_seconds + 1)
    assert loaded.vm(vm.id).state == OFF  # type: ignore[union-attr]
    assert all(j.job_state not in JOB_IN_PROGRESS for j in loaded.jobs.values())
