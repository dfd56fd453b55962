"""The policy's own helpers: located errors, its vocabulary, errors about its inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdyn.core.errors import PolicyError
from hvdyn.core.model import VmState
from hvdyn.core.vocab import Restart
from hvdyn.core.yamlpos import parse_yaml
from hvdyn.policy.errors import located
from hvdyn.policy.evaluate import Resolution
from hvdyn.policy.schema import MATCH_STATES

from .policy_helpers import host, vm, write_policy

TEXT = """\
version: 1
defaults:
  startup: 1GB
rules:
  - name: a
    match: {vm: x}
    set: {weight: 1}
"""


def test_located_points_at_the_value_of_its_path() -> None:
    doc = parse_yaml(TEXT, "p.yaml", PolicyError)
    error = located(doc, ("defaults", "startup"), "too small", "512MB..64GB")
    assert (error.file, error.line, error.col, error.key) == ("p.yaml", 3, 12, "defaults.startup")
    assert str(error) == "p.yaml:3:12: defaults.startup: too small (allowed: 512MB..64GB)"


def test_located_can_point_at_the_key_or_elsewhere() -> None:
    doc = parse_yaml(TEXT, "p.yaml", PolicyError)
    at_key = located(doc, ("defaults", "startup"), "unknown key", key=True)
    assert (at_key.line, at_key.col) == (3, 3)
    missing = located(doc, ("rules", 0, "set", "startup"), "missing", at=("rules", 0, "set"))
    assert (missing.line, missing.col, missing.key) == (7, 10, "rules[0].set.startup")


def test_a_path_not_in_the_file_falls_back_to_its_nearest_ancestor() -> None:
    doc = parse_yaml(TEXT, "p.yaml", PolicyError)
    error = located(doc, ("rules", 0, "restart"), "why")
    assert (error.line, error.col) == (5, 5)


def test_restart_words_are_the_policy_files_words() -> None:
    assert [str(r) for r in Restart] == ["allowed", "never"]
    assert Restart("never") is Restart.NEVER


@pytest.mark.parametrize(
    ("restart", "flag", "may"),
    [
        (None, False, False),
        (None, True, True),
        (Restart.ALLOWED, False, True),
        (Restart.NEVER, True, False),
    ],
)
def test_may_restart(restart: Restart | None, flag: bool, may: bool) -> None:
    assert Resolution(restart=restart).may_restart(flag) is may


def test_rule_restart_is_read_as_the_enum(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, TEXT + "    restart: allowed\n")
    assert policy.rules[0].restart is Restart.ALLOWED
    assert policy.resolve(vm("x"), host()).restart is Restart.ALLOWED


def test_match_states_are_the_four_steady_states() -> None:
    assert [s.label for s in MATCH_STATES] == ["running", "off", "saved", "paused"]
    assert not any(s.is_transitional for s in MATCH_STATES)


def test_a_state_match_is_read_as_vm_states(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, TEXT.replace("{vm: x}", "{state: [Off, saved]}"))
    assert policy.rules[0].matcher.states == frozenset({VmState.OFF, VmState.SAVED})
    off = policy.resolve(vm("x", state=VmState.OFF), host()).desired
    running = policy.resolve(vm("x"), host()).desired
    assert off is not None and off.rules == ("a",)
    assert running is not None and running.rules == ()


def test_inventory_error_points_at_the_inventory_key(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\ninventory: hosts.yaml\n")
    error = policy.inventory_error("cannot read")
    assert (error.line, error.col, error.key) == (2, 12, "inventory")


def test_inventory_error_without_the_key_points_at_the_top(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\n")
    error = policy.inventory_error("no inventory")
    assert str(error) == f"{policy.path}:1:1: inventory: no inventory"
