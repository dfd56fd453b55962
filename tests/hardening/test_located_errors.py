"""Deep YAML, fixture errors, long values, host names: exit 3 with FILE:LINE:COL, short lines."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from hvdyn.core import yamlpos
from hvdyn.core.errors import PolicyError
from hvdyn.sim import load_state
from tests.worlds import Make, World

from .conftest import vm

LOCATED = re.compile(r"^hvdyn: \S+:\d+:\d+: ", re.MULTILINE)


@pytest.fixture
def world(make_world: Make) -> World:
    return make_world({"hv1": "vms:\n" + vm("a"), "hv2": "vms:\n" + vm("b")})


def _deep_flow(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def _deep_block(depth: int) -> str:
    return "\n" + "".join(" " * i + "k:\n" for i in range(1, depth)) + " " * depth + "k: 1\n"


@pytest.mark.parametrize("which", ["policy", "inventory", "fixture"])
@pytest.mark.parametrize("text", [_deep_flow(990), _deep_block(600)], ids=["flow", "block"])
def test_deep_nesting_exits_3_with_a_position(world: World, which: str, text: str) -> None:
    target = {"policy": world.policy, "inventory": world.inventory,
              "fixture": world.hosts["hv1"]}[which]
    target.write_text(f"extra: {text}\n" if which != "policy" else f"version: 1\nx: {text}\n",
                      encoding="utf-8")
    for command in ("validate", "plan"):
        r = world.hvdyn(command, world.policy)
        assert r.traceback_free, r.exception
        assert r.exit_code == 3, r.stderr
        assert LOCATED.search(r.stderr), r.stderr
        assert target.name in r.stderr and "nested deeper than 64 levels" in r.stderr


def test_the_pure_python_composer_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml PyYAML's composer recurses in Python: RecursionError is located."""
    class PureLoader(yaml.SafeLoader):
        pass

    PureLoader.yaml_implicit_resolvers = yamlpos._Loader.yaml_implicit_resolvers
    monkeypatch.setattr(yamlpos, "_Loader", PureLoader)
    with pytest.raises(PolicyError) as info:
        yamlpos.parse_yaml("a:\n  b: " + _deep_flow(5000), "p.yaml", PolicyError)
    # the 65th collection: root mapping, b's mapping, then the 63rd "[" at column 6 + 62
    assert (info.value.line, info.value.col) == (2, 6 + 62)
    assert "nested deeper" in info.value.message


def test_nesting_at_the_limit_still_loads() -> None:
    doc = yamlpos.parse_yaml("a: " + _deep_flow(yamlpos.MAX_DEPTH - 1), "p.yaml", PolicyError)
    assert isinstance(doc.data["a"], list)


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "render"])
def test_a_fixture_error_is_exit_3_for_every_command(world: World, command: str) -> None:
    fixture = world.hosts["hv2"]
    fixture.write_text(fixture.read_text("utf-8").replace("weight: 100", "weight: lots"),
                       encoding="utf-8")
    extra = ("-o", world.root / "out") if command == "render" else ()
    r = world.hvdyn(command, world.policy, *extra)
    assert r.exit_code == 3, (r.stdout, r.stderr)
    assert LOCATED.search(r.stderr) and "hv2.yaml:3:" in r.stderr and "weight" in r.stderr


def test_a_fixture_error_stops_apply_before_any_host_changes(world: World) -> None:
    fixture = world.hosts["hv2"]
    fixture.write_text(fixture.read_text("utf-8").replace("weight: 100", "weight: lots"),
                       encoding="utf-8")
    assert world.hvdyn("apply", world.policy).exit_code == 3
    assert load_state(world.state, "hv1", world.hosts["hv1"]).vms[0].memory.weight == 100
    assert json.loads(world.hvdyn("runs", "--format", "json").stdout)["runs"] == []


@pytest.mark.parametrize("where", ["policy", "inventory", "fixture"])
def test_a_huge_value_is_cut_in_the_message(world: World, where: str) -> None:
    huge = "x" * 100_000
    if where == "policy":
        world.policy.write_text(world.policy.read_text("utf-8").replace(
            "startup: 1GB", f"startup: {huge}"), "utf-8")
    elif where == "inventory":
        world.inventory.write_text(world.inventory.read_text("utf-8").replace(
            "hvdyn_transport: mock", f"hvdyn_transport: {huge}"), "utf-8")
    else:
        fixture = world.hosts["hv1"]
        fixture.write_text(fixture.read_text("utf-8").replace(
            "2008 R2 Enterprise, memory", f"2008 R2 Enterprise, state: {huge}, memory"), "utf-8")
    r = world.hvdyn("validate", world.policy)
    assert r.exit_code == 3 and LOCATED.search(r.stderr), r.stderr
    assert max(len(line) for line in r.stderr.splitlines()) < 1200, "a value was not cut"
    assert "characters cut" in r.stderr


def test_render_and_apply_name_the_host_once(make_world: Make) -> None:
    w = make_world({"hv1": "vms:\n" + vm("a") + "faults:\n  - {op: connect, error: unreachable}\n"})
    render = w.hvdyn("render", w.policy, "-o", w.root / "out")
    apply = w.hvdyn("apply", w.policy)
    assert render.exit_code == 1 and apply.exit_code == 1
    assert "hvdyn: hv1: connection refused" in render.stderr, render.stderr
    assert "hv1: hv1:" not in render.stderr + render.stdout + apply.stderr + apply.stdout
