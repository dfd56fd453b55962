"""Restart orchestration: opt-in, back to the original state, Ctrl-C, the lab end to end."""

from __future__ import annotations

import json
from pathlib import Path

from hvdyn.cli.context import load_targets, transport_factory
from hvdyn.core.model import HostStatus
from hvdyn.core.vocab import Step
from hvdyn.history import open_store
from hvdyn.planning.plan import PlanOptions
from hvdyn.run.engine import Engine, RunOptions
from hvdyn.run.journal import StoreJournal
from tests.worlds import Make

from .conftest import vm

RUNNING, OFF, PAUSED, SAVED = 2, 3, 32768, 32769
REPO = Path(__file__).resolve().parents[2]


def test_saved_and_paused_only_with_their_flag_and_back_to_their_state(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("s", state="saved", startup="2GB")
                    + vm("p", state="paused", startup="2GB")})
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--format", "json")
    assert r.exit_code == 2 and w.journal(1) == []
    reasons = {v["name"]: v["reason"] for v in r.json()["hosts"][0]["vms"]}
    assert "--include-saved" in reasons["s"] and "--include-paused" in reasons["p"]
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--include-saved", "--include-paused",
                "--max-restarts-per-host", "2")
    assert r.exit_code == 0, r.stdout
    assert w.outcomes(2) == {"s": "applied", "p": "applied"}
    assert (w.vm("s").state, w.vm("p").state) == (SAVED, PAUSED)
    assert w.vm("s").memory.virtual_quantity == w.vm("p").memory.virtual_quantity == 1024
    assert {row.state_after for row in w.journal(2)} == {SAVED, PAUSED}


def test_ctrl_c_stops_new_hosts_and_in_flight_work_is_journaled(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", weight=100), "hv2": "vms:\n" + vm("b", weight=100)})
    targets = load_targets(w.policy, None, None)
    options = RunOptions(mode="apply", forks=1, plan=PlanOptions())
    store = open_store(w.state)
    run_id = store.start_run("apply")
    engine: Engine

    def progress(host: str, step: Step, vms: tuple[str, ...]) -> None:
        if step is Step.APPLY:
            engine.stop()  # Ctrl-C while hv1's apply script is in flight

    engine = Engine(targets.policy, transport_factory(w.state), options, progress=progress,
                    journal=StoreJournal(store, run_id))
    results = {r.host: r for r in engine.run(sorted(targets.hosts, key=lambda h: h.name))}
    store.finish_run(run_id, outcome="interrupted", exit_code=1)
    store.close()
    assert results["hv1"].status is HostStatus.CHANGED  # in flight: finished
    assert results["hv2"].status is HostStatus.FAILED
    assert "interrupted" in (results["hv2"].error or "")
    assert w.outcomes(run_id) == {"a": "applied"}
    assert w.vm("b", "hv2").memory.weight == 100


def test_heartbeat_not_ok_blocks_a_restart(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a", startup="2GB", extra=", heartbeat: lost")})
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--format", "json")
    assert r.exit_code == 2
    found = r.json()["hosts"][0]["vms"][0]["findings"]
    assert [f["check"] for f in found] == ["HVD011"]
    assert w.journal(1) == [] and w.vm("a").memory.virtual_quantity == 2048


def _lab_policy(tmp_path: Path, startup: str) -> Path:
    text = (REPO / "examples" / "lab.yaml").read_text("utf-8")
    text = text.replace("inventory: ../inventories/lab.yaml",
                        f"inventory: {REPO / 'inventories' / 'lab.yaml'}")
    path = tmp_path / f"lab-{startup}.yaml"
    path.write_text(text.replace("startup: 1GB", f"startup: {startup}", 1), "utf-8")
    return path


def test_done_when_lab_raise_startup_restart_and_roll_back(make_world: Make, tmp_path: Path
                                                           ) -> None:
    w = make_world({"unused": ""})
    old, new = _lab_policy(tmp_path, "1GB"), _lab_policy(tmp_path, "1536MB")
    limit = ("--limit", "hv-srv-01")
    assert w.hvdyn("apply", old, "--allow-restart", *limit).exit_code == 0  # run 1: converge
    r = w.hvdyn("apply", new, *limit, "--format", "json")  # run 2: no restart allowed
    assert r.exit_code == 2
    changes = [c for h in r.json()["hosts"] for v in h["vms"] for c in v["changes"]]
    assert changes and {c["status"] for c in changes} == {"pending"}
    assert w.journal(2) == []
    r = w.hvdyn("apply", new, "--allow-restart", *limit, "--format", "json")  # run 3
    assert r.exit_code == 0
    raised = [v for h in r.json()["hosts"] for v in h["vms"] if v["restart"]]
    assert raised and all(v["final_state"] == "running" for v in raised)
    assert set(w.outcomes(3).values()) == {"applied"}
    r = w.hvdyn("rollback", "3", "--allow-restart", "--format", "json")  # run 4
    assert r.exit_code == 0, r.stdout
    assert all(v["final_state"] in (None, "running") for h in r.json()["hosts"]
               for v in h["vms"])
    r = w.hvdyn("plan", old, *limit, "--format", "json")
    assert r.exit_code == 0 and not any(v["changes"] for h in r.json()["hosts"] for v in h["vms"])
    runs = json.loads(w.hvdyn("runs", "--format", "json").stdout)["runs"]
    assert [(x["command"], x["exit_code"]) for x in runs] == [
        ("rollback", 0), ("apply", 0), ("apply", 2), ("apply", 0)]


def test_ctrl_c_before_a_batch_sends_nothing_more(make_world: Make) -> None:
    """Stopped after discovery: the host's changes stay pending, nothing is journaled."""
    w = make_world({"hv1": "vms:\n" + vm("a", weight=100)})
    targets = load_targets(w.policy, None, None)
    engine: Engine

    def progress(host: str, step: Step, vms: tuple[str, ...]) -> None:
        if step is Step.DISCOVER:
            engine.stop()

    engine = Engine(targets.policy, transport_factory(w.state),
                    RunOptions(mode="apply", forks=1), progress=progress)
    [result] = engine.run(targets.hosts)
    assert result.status is HostStatus.DRIFT
    change = result.plan.vms[0].changes[0]
    assert change.status == "pending" and "interrupted" in change.reason
    assert w.vm("a").memory.weight == 100


def test_capacity_error_blocks_the_whole_host(make_world: Make) -> None:
    policy = ("version: 1\ninventory: inventory.yaml\n"
              "defaults: {dynamic: true, startup: 16GB, maximum: 16GB, weight: 100}\n"
              "host: {reserve: 2GB}\n")
    w = make_world({"hv1": "vms:\n" + vm("a", startup="14GB", maximum="14GB")
                    + vm("b", startup="14GB", maximum="14GB")}, policy=policy)
    r = w.hvdyn("apply", w.policy, "--allow-restart", "--format", "json")
    assert r.exit_code == 2
    host = r.json()["hosts"][0]
    assert [f["check"] for f in host["findings"]] == ["HVD006"]
    statuses = {c["status"] for v in host["vms"] for c in v["changes"]}
    assert statuses == {"blocked"}  # weight too: capacity errors block the host's changes
    assert w.journal(1) == [] and w.vm("a").memory.weight == 5000
