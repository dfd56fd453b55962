"""Saved simulated-host state is checked before the simulator trusts it; NUL VM names."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hvdyn.sim import state_path
from tests.worlds import Make, World

from .conftest import vm

GUID_A = "11111111-2222-3333-4444-555555555555"
GUID_B = "66666666-7777-8888-9999-AAAAAAAAAAAA"


@pytest.fixture
def world(make_world: Make) -> World:
    w = make_world({"hv1": "vms:\n" + vm("a", vm_id=GUID_A) + vm("b", vm_id=GUID_B)})
    # the state file now exists (read-only commands such as plan write none)
    assert w.hvdyn("sim", "reset", "-i", w.inventory).exit_code == 0
    return w


def _edit(world: World, change: Callable[[dict[str, Any]], Any]) -> None:
    path = state_path(world.state, "hv1", world.hosts["hv1"])
    data = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps(change(data)), "utf-8")


def _vm0(key: str, value: object) -> Callable[[dict[str, Any]], Any]:
    def change(data: dict[str, Any]) -> Any:
        data["vms"][0][key] = value
        return data
    return change


def _top(key: str, value: object) -> Callable[[dict[str, Any]], Any]:
    def change(data: dict[str, Any]) -> Any:
        data[key] = value
        return data
    return change


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda data: [], "a JSON object is expected, not list"),
        (_vm0("id", GUID_B), f"vms[1].id: GUID {GUID_B} is also the id of vms[0]"),
        (_vm0("state", 99), "vms[0].state: EnabledState 99 is not one the simulator produces"),
        (_top("clock_s", 1e30), "clock_s: "),
        (_top("clock_s", 10**15), "clock_s: 1000000000000000 is outside"),
        (_top("clock_s", "soon"), "clock_s"),
        (_vm0("memory", None), "vms.0.memory"),
        (lambda data: {**data, "vms": [None]}, "vms.0"),
    ],
    ids=["list", "duplicate-guid", "state-99", "clock-1e30", "clock-1e15", "clock-str",
         "memory-null", "vm-null"],
)
def test_a_bad_state_file_fails_the_host_with_a_reason(
    world: World, change: Callable[[dict[str, Any]], Any], says: str
) -> None:
    _edit(world, change)
    for command in ("plan", "apply"):
        r = world.hvdyn(command, world.policy, "--format", "json")
        assert r.traceback_free, r.exception
        assert r.exit_code == 1, (r.stdout, r.stderr)
        error = r.json()["hosts"][0]["error"]
        assert "simulated host state" in error and says in error, error
        assert "hvdyn sim reset" in error


def test_sim_reset_repairs_a_bad_state_file(world: World) -> None:
    _edit(world, _vm0("state", 99))
    assert world.hvdyn("sim", "reset", "-i", world.inventory).exit_code == 0
    assert world.hvdyn("plan", world.policy).exit_code == 2


def test_a_nul_in_a_vm_name_blocks_only_that_vm(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("bad\\0name") + vm("good")})
    plan = w.hvdyn("plan", w.policy, "--format", "json")
    assert plan.exit_code == 2
    [host] = plan.json()["hosts"]
    by_name = {v["name"]: v for v in host["vms"]}
    assert [f["check"] for f in by_name["bad\x00name"]["findings"]] == ["HVD015"]
    assert {c["status"] for c in by_name["bad\x00name"]["changes"]} == {"blocked"}
    render = w.hvdyn("render", w.policy, "-o", w.root / "out")
    assert render.exit_code == 0, render.stderr
    script = (w.root / "out" / "hv1.ps1").read_text("utf-8")
    assert "'good'" in script and "bad" not in script
    apply = w.hvdyn("apply", w.policy, "--format", "json")
    assert apply.exit_code == 2, apply.stderr  # the blocked VM is drift, not a failed host
    [host] = apply.json()["hosts"]
    by_name = {v["name"]: v for v in host["vms"]}
    assert host["status"] != "failed"
    assert {c["status"] for c in by_name["good"]["changes"]} == {"applied"}
