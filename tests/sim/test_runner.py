"""discover / apply / collect as record dicts, following hvdyn/powershell/params.py step by step."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hvdyn.sim import load_fixture, run_script
from hvdyn.sim.state import OFF, RUNNING, SAVED, Fault, HostState
from tests.sim.conftest import by_name, settings

OPTS: dict[str, Any] = {"host": "h", "job_timeout_s": 300, "shutdown_timeout_s": 600,
                        "start_timeout_s": 300, "force_off": False}


def current(host: HostState, vm_id: str) -> dict[str, bool | int]:
    vm = host.vm(vm_id)
    assert vm is not None
    return dict(vm.memory.to_settings().as_dict())


def apply_one(host: HostState, name: str, target: dict[str, bool | int], *,
              restart: bool = True, **opts: Any) -> dict[str, Any]:
    vm_id = by_name(host, name)
    vm = host.vm(vm_id)
    assert vm is not None
    expect = current(host, vm_id)
    offline = any(expect[k] != target[k] for k in ("dynamic", "startup_mb", "minimum_mb",
                                                   "maximum_mb"))
    item = {"id": vm_id, "name": name, "expect_state": vm.state, "expect": expect,
            "target": target, "offline": offline, "restart": restart}
    records = run_script(host, "apply", {**OPTS, **opts, "vms": [item]})
    results = [r for r in records if r["t"] == "result"]
    assert len(results) == 1
    return results[0]


def test_discover_records(host: HostState) -> None:
    records = run_script(host, "discover", {"host": "h"})
    assert records[0]["t"] == "host" and records[0]["reserve_mb"] == 2048
    vms = {r["name"]: r for r in records[1:]}
    assert set(vms) == {"dm-vm", "static-vm", "off-vm", "bare-vm", "saved-vm"}
    assert vms["dm-vm"]["os"] == "Windows Server 2008 R2 Enterprise"
    assert vms["dm-vm"]["ic_version"] == "6.1.7601.17514" and vms["dm-vm"]["heartbeat"] == 2
    for name in ("off-vm", "saved-vm"):  # no KVP, no heartbeat while not running
        assert vms[name]["os"] is None and vms[name]["heartbeat"] is None
    assert vms["bare-vm"]["os"] is None and vms["bare-vm"]["heartbeat"] == 12
    assert vms["off-vm"]["state"] == OFF and vms["saved-vm"]["state"] == SAVED


def test_apply_with_restart_returns_vm_running_with_new_settings(host: HostState) -> None:
    target = settings(startup_mb=2048, minimum_mb=2048, maximum_mb=8192, buffer=10, weight=3000)
    start = host.clock_s
    result = apply_one(host, "dm-vm", target)
    assert result["outcome"] == "applied" and result["restarted"] is True
    assert result["state"] == RUNNING and result["settings"] == target
    assert host.clock_s - start >= 15  # the shutdown took simulated time
    again = run_script(host, "discover", {"host": "h"})
    assert next(r for r in again if r.get("name") == "dm-vm")["startup_mb"] == 2048


def test_apply_online_change_needs_no_restart(host: HostState) -> None:
    result = apply_one(host, "dm-vm", settings(buffer=50, weight=9000), restart=False)
    assert result["outcome"] == "applied" and result["restarted"] is False


def test_apply_pending_without_restart_and_for_saved(host: HostState) -> None:
    result = apply_one(host, "dm-vm", settings(maximum_mb=8192), restart=False)
    assert result["outcome"] == "pending" and result["state"] == RUNNING
    saved = apply_one(host, "saved-vm", settings(maximum_mb=4096, startup_mb=1024),
                      restart=False)
    assert saved["outcome"] == "pending"
    # restart=True (the plan sets it only with --include-saved): resumed, restarted, saved again
    saved = apply_one(host, "saved-vm", settings(maximum_mb=4096, startup_mb=1024))
    assert (saved["outcome"], saved["state"], saved["restarted"]) == ("applied", SAVED, True)


def test_apply_online_refused_by_host_switch_is_pending(host: HostState) -> None:
    host.online_buffer_weight = False
    result = apply_one(host, "dm-vm", settings(buffer=50), restart=False)
    assert (result["outcome"], result["code"]) == ("pending", 32775)


def test_apply_conflict_unchanged_not_found(host: HostState) -> None:
    vm_id = by_name(host, "dm-vm")
    item = {"id": vm_id, "name": "dm-vm", "expect_state": RUNNING,
            "expect": settings(buffer=99), "target": settings(buffer=50),
            "offline": False, "restart": False}
    missing = dict(item, id="00000000-0000-0000-0000-000000000000")
    same = dict(item, expect=settings(), target=settings())
    records = run_script(host, "apply", {**OPTS, "vms": [item, missing, same]})
    assert [r["outcome"] for r in records] == ["conflict", "failed", "unchanged"]
    assert records[1]["message"] == "VM not found" and records[1]["settings"] is None
    assert current(host, vm_id)["buffer"] == 20


def test_apply_without_ics_fails_cleanly(host: HostState) -> None:
    target = settings(dynamic=True, startup_mb=1024, minimum_mb=1024, maximum_mb=2048)
    result = apply_one(host, "bare-vm", target)
    assert result["outcome"] == "failed" and "integration" in result["message"]
    assert result["state"] == RUNNING


def test_apply_modify_fault_still_restarts(host: HostState) -> None:
    host.faults.append(Fault(op="modify", vm="dm-vm", code=32774, times=1))
    result = apply_one(host, "dm-vm", settings(maximum_mb=8192))
    assert (result["outcome"], result["code"]) == ("failed", 32774)
    assert result["restarted"] is True and result["state"] == RUNNING


def test_apply_job_exception(host: HostState) -> None:
    host.faults.append(Fault(op="job", vm="dm-vm", message="boom"))
    result = apply_one(host, "dm-vm", settings(maximum_mb=8192))
    assert result["outcome"] == "failed" and "job state 10" in result["message"]
    assert result["settings"]["maximum_mb"] == 4096


def test_apply_guest_ignoring_shutdown(host: HostState) -> None:
    vm = host.vm(by_name(host, "dm-vm"))
    assert vm is not None
    vm.ignores_shutdown = True
    result = apply_one(host, "dm-vm", settings(maximum_mb=8192), shutdown_timeout_s=30)
    assert result["outcome"] == "failed" and "did not shut down" in result["message"]
    forced = apply_one(host, "dm-vm", settings(maximum_mb=8192), shutdown_timeout_s=30,
                       force_off=True)
    assert forced["outcome"] == "applied" and forced["state"] == RUNNING


def test_restart_blocked_by_admission_32778(host: HostState) -> None:
    """Another VM grabs the freed memory while ours is off: start fails with 32778."""
    vm = host.vm(by_name(host, "dm-vm"))
    assert vm is not None
    host.faults.append(Fault(op="start", vm="dm-vm", code=32778, times=1))
    result = apply_one(host, "dm-vm", settings(maximum_mb=8192))
    assert (result["outcome"], result["code"]) == ("failed", 32778)
    assert result["state"] == OFF and result["settings"]["maximum_mb"] == 8192


def test_real_admission_check(write_fixture) -> None:  # type: ignore[no-untyped-def]
    host = load_fixture(write_fixture(
        "host: {memory: 6GB, reserve: 1GB}\nvms:\n"
        "  - {name: big, os: Windows Server 2008 R2 Enterprise,"
        " memory: {dynamic: true, startup: 1GB, maximum: 4GB},"
        " demand: {base: 3GB, peak: 3GB}}\n"
        "  - {name: grow, os: Windows Server 2008 R2 Enterprise,"
        " memory: {dynamic: true, startup: 1GB, maximum: 8GB},"
        " demand: {base: 6GB, peak: 6GB}}\n"
    ))
    result = apply_one(host, "big", settings(startup_mb=2048, minimum_mb=2048, maximum_mb=4096))
    # The admission re-check before the start sees too little free memory ("grow" took
    # it): the old settings go back; even they do not fit now, so the start fails.
    assert (result["outcome"], result["code"]) == ("failed", 32778)
    assert "admission" in result["message"] and result["settings"]["startup_mb"] == 1024


def test_collect_samples_in_simulated_time(host: HostState) -> None:
    records = run_script(host, "collect", {"host": "h", "samples": 3, "interval_s": 60})
    samples = [r for r in records if r["t"] == "sample"]
    balancers = [r for r in records if r["t"] == "balancer"]
    assert records[-1]["t"] == "host"
    assert len(balancers) == 3 and len(samples) == 3 * 3  # three running VMs
    assert [b["ts"] for b in balancers] == ["2026-01-05T00:01:00Z", "2026-01-05T00:02:00Z",
                                            "2026-01-05T00:03:00Z"]
    assert all(s["name"] != "off-vm" and s["name"] != "saved-vm" for s in samples)
    assert set(samples[0]["counters"]) >= {"PhysicalMemory", "CurrentPressure", "AddedMemory"}


def test_collect_duplicate_names_list_all_ids(write_fixture) -> None:  # type: ignore[no-untyped-def]
    host = load_fixture(write_fixture(
        "host: {memory: 8GB}\nvms:\n  - {name: twin, memory: {startup: 1GB}}\n"
        "  - {name: twin, state: off, memory: {startup: 1GB}}\n"
    ))
    samples = [r for r in run_script(host, "collect", {"host": "h", "samples": 1,
                                                        "interval_s": 10}) if r["t"] == "sample"]
    assert len(samples) == 1 and samples[0]["ids"] == sorted(vm.id for vm in host.vms)


def test_script_level_errors(host: HostState) -> None:
    assert run_script(host, "nope", {}) == [
        {"t": "error", "id": None, "message": "unknown script 'nope'", "code": None}]
    bad = run_script(host, "collect", {"host": "h", "samples": "3", "interval_s": 1})
    assert bad[0]["t"] == "error" and bad[0]["id"] is None


def test_discover_fault_is_a_per_vm_error(host: HostState) -> None:
    host.faults.append(Fault(op="discover", vm="static-vm", message="Access denied", times=1))
    records = run_script(host, "discover", {"host": "h"})
    errors = [r for r in records if r["t"] == "error"]
    assert len(errors) == 1 and errors[0]["id"] == by_name(host, "static-vm")
    assert len([r for r in records if r["t"] == "vm"]) == 4


def test_determinism(small_path: Path) -> None:
    def run() -> list[list[dict[str, Any]]]:
        host = load_fixture(small_path)
        target = settings(startup_mb=2048, minimum_mb=2048, maximum_mb=8192)
        out = [copy.deepcopy(run_script(host, "collect",
                                        {"host": "h", "samples": 5, "interval_s": 30}))]
        out.append([apply_one(host, "dm-vm", target)])
        out.append(run_script(host, "collect", {"host": "h", "samples": 5, "interval_s": 30}))
        out.append(run_script(host, "discover", {"host": "h"}))
        return out

    assert run() == run()
