"""Every injected fault: status, exit code, journal and final simulated state."""

from __future__ import annotations

from hvdyn.sim import session
from tests.worlds import Make

from .conftest import vm

OFF, RUNNING = 3, 2


def test_unreachable_host_fails_alone(make_world: Make) -> None:
    w = make_world({
        "hv1": "vms:\n" + vm("a", weight=100) + "faults:\n  - {op: connect, error: unreachable}\n",
        "hv2": "vms:\n" + vm("b", weight=100),
    })
    r = w.hvdyn("apply", w.policy, "--format", "json")
    assert r.exit_code == 1
    hosts = {h["host"]: h for h in r.json()["hosts"]}
    assert hosts["hv1"]["status"] == "unreachable" and "refused" in hosts["hv1"]["error"]
    assert hosts["hv2"]["status"] == "changed"
    assert w.outcomes(1) == {"b": "applied"}  # nothing was sent to hv1
    assert w.vm("b", "hv2").memory.weight == 5000


def test_authentication_failure(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", weight=100)
                    + "faults:\n  - {op: connect, error: auth}\n"})
    r = w.hvdyn("apply", w.policy, "--format", "json")
    assert r.exit_code == 1
    host = r.json()["hosts"][0]
    assert host["status"] == "unreachable" and "credentials" in host["error"]
    assert w.journal(1) == []
    with session(w.state, "hv1", w.hosts["hv1"]) as state:  # nothing changed on the host
        assert state.vms[0].memory.weight == 100


def test_in_use_32774_is_retried_then_succeeds(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", weight=100)
                    + "faults:\n  - {op: modify, vm: a, code: 32774, times: 2}\n"})
    r = w.hvdyn("apply", w.policy, "--format", "json")
    assert r.exit_code == 0, r.stdout
    assert w.outcomes(1) == {"a": "applied"}
    state = w.sim()
    assert state.vms[0].memory.weight == 5000
    assert state.faults[0].times == 0  # both injected 32774s were met, then the third try won
    assert state.clock_s >= 2 + 4  # backoff 2 s then 4 s of simulated time


def test_in_use_32774_past_the_retries_fails(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", weight=100)
                    + "faults:\n  - {op: modify, vm: a, code: 32774}\n"})
    r = w.hvdyn("apply", w.policy, "--format", "json")
    assert r.exit_code == 1
    assert w.outcomes(1) == {"a": "failed"}
    assert "32774" in w.journal(1)[0].message  # type: ignore[operator]
    assert w.vm("a").memory.weight == 100


def test_invalid_state_32775_is_pending(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", weight=100)
                    + "faults:\n  - {op: modify, vm: a, code: 32775}\n"})
    r = w.hvdyn("apply", w.policy, "--format", "json")
    assert r.exit_code == 2
    change = r.json()["hosts"][0]["vms"][0]["changes"][0]
    assert change["status"] == "pending"
    assert w.outcomes(1) == {"a": "pending"}
    assert w.vm("a").memory.weight == 100


def test_job_ending_in_state_10_fails_and_writes_nothing(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", state="off", startup="2GB")
                    + "faults:\n  - {op: job, vm: a, state: 10, code: 32768, message: disk}\n"})
    r = w.hvdyn("apply", w.policy, "--format", "json")
    assert r.exit_code == 1
    assert w.outcomes(1) == {"a": "failed"}
    row = w.journal(1)[0]
    assert "job state 10" in (row.message or "") and row.after == 2048  # read back: unchanged
    assert w.vm("a").memory.virtual_quantity == 2048


def test_guest_ignoring_shutdown(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", startup="2GB", extra=", ignores_shutdown: true")})
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--shutdown-timeout", "30")
    assert r.exit_code == 1
    row = w.journal(1)[0]
    assert row.outcome == "failed" and "did not shut down" in (row.message or "")
    assert (row.state_before, row.state_after) == (RUNNING, RUNNING)  # not left off
    assert w.vm("a").state == RUNNING and w.vm("a").memory.virtual_quantity == 2048
    # hard power-off only when asked
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--shutdown-timeout", "30", "--force-off")
    assert r.exit_code == 0
    assert w.outcomes(2) == {"a": "applied"}
    assert w.vm("a").state == RUNNING and w.vm("a").memory.virtual_quantity == 1024


def test_start_refused_32778_leaves_vm_off_and_says_so(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", startup="2GB")
                    + "faults:\n  - {op: start, vm: a, code: 32778, times: 1}\n"})
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--format", "json")
    assert r.exit_code == 1
    assert r.json()["hosts"][0]["vms"][0]["final_state"] == "off"
    assert w.outcomes(1) == {"a": "failed"}
    shown = w.hvdyn("runs", "show", "1", "--format", "json").json()
    assert shown["left_off"] == [w.vm("a").id]
    assert w.vm("a").state == OFF and w.vm("a").memory.virtual_quantity == 1024


def test_heartbeat_never_ok_after_start_fails_the_vm_but_keeps_it_running(
    make_world: Make,
) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", startup="2GB")
                    + "faults:\n  - {op: heartbeat, vm: a, times: 1}\n"})
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--start-timeout", "60", "--format", "json")
    assert r.exit_code == 1
    result = r.json()["hosts"][0]["vms"][0]
    assert "heartbeat was not OK within 60 s" in result["reason"]
    assert result["final_state"] == "running"
    assert w.outcomes(1) == {"a": "failed"}
    # The settings were written before the start: the host holds them; a rerun is clean.
    assert w.vm("a").memory.virtual_quantity == 1024 and w.vm("a").state == RUNNING
    assert w.hvdyn("plan", w.policy).exit_code == 0


def test_connection_dropped_after_modify_before_read_back(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", weight=100) + vm("b", weight=100)
                    + vm("c", weight=100) + "faults:\n  - {op: drop, vm: b, times: 1}\n"})
    r = w.hvdyn("apply", w.policy, "--format", "json")
    assert r.exit_code == 1
    assert "dropped" in r.json()["hosts"][0]["error"]
    # a was confirmed before the drop; b was modified but never read back; c never ran
    assert w.outcomes(1) == {"a": "applied", "b": "unknown", "c": "unknown"}
    shown = w.hvdyn("runs", "show", "1", "--format", "json").json()
    assert sorted(shown["unknown"]) == sorted([w.vm("b").id, w.vm("c").id])
    assert [v.memory.weight for v in w.sim().vms] == [5000, 5000, 100]
    # nothing lost: a rerun converges
    assert w.hvdyn("apply", w.policy).exit_code == 0
    assert w.outcomes(2) == {"c": "applied"}
    assert w.hvdyn("plan", w.policy).exit_code == 0


def test_vm_edited_between_plan_and_apply_is_a_conflict(make_world: Make) -> None:
    # Someone edits VM a in Hyper-V Manager after discovery, before the apply script reaches it.
    w = make_world({"hv1": "vms:\n" + vm("a", weight=100) + vm("b", weight=100)
                    + "faults:\n  - {op: edit, vm: a, weight: 7777, times: 1}\n"})
    r = w.hvdyn("apply", w.policy, "--format", "json")
    assert r.exit_code == 2
    vms = {v["name"]: v for v in r.json()["hosts"][0]["vms"]}
    assert vms["a"]["changes"][0]["status"] == "conflict"
    assert "weight 100->7777" in vms["a"]["reason"]
    assert w.outcomes(1) == {"a": "conflict", "b": "applied"}
    assert [v.memory.weight for v in w.sim().vms] == [7777, 5000]  # the edit is kept


def test_host_deadline_marks_outcomes_unknown(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", startup="2GB", extra=", ignores_shutdown: true")})
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--host-timeout", "60",
                "--shutdown-timeout", "600", "--format", "json")
    assert r.exit_code == 1
    assert "limit" in r.json()["hosts"][0]["error"]
    assert w.outcomes(1) == {"a": "unknown"}
    assert w.vm("a").state == RUNNING  # the host kept going; a rerun reads it afresh
