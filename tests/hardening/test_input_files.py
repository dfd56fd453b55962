"""Policies, inventories and fixtures: regular files only, a size cap, no hang on a FIFO."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hvdyn.core.errors import PolicyError
from hvdyn.core.fileio import MAX_INPUT_BYTES, read_input
from tests.worlds import Make, World

from .conftest import vm

LOCATED = ": "  # the whole file: no line or column to point at


@pytest.fixture
def world(make_world: Make) -> World:
    return make_world({"hv1": "vms:\n" + vm("a")})


def _validate(world: World, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """In a subprocess: a hang must fail the test, not stall the suite."""
    return subprocess.run(
        [sys.executable, "-m", "hvdyn", "validate", *map(str, args),
         "--state-dir", str(world.state)],
        capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize("which", ["policy", "inventory", "fixture"])
def test_a_fifo_input_exits_3_without_hanging(world: World, which: str) -> None:
    fifo = world.root / "fifo.yaml"
    os.mkfifo(fifo)
    if which == "policy":
        run = _validate(world, fifo, "-i", world.inventory)
    elif which == "inventory":
        run = _validate(world, world.policy, "-i", fifo)
    else:
        world.inventory.write_text(world.inventory.read_text("utf-8").replace(
            "hv1.yaml", "fifo.yaml"), "utf-8")
        run = _validate(world, world.policy)
    assert run.returncode == 3, run.stderr
    assert "FIFO" in run.stderr and ".yaml:" in run.stderr  # located at the file or its key
    assert "Traceback" not in run.stderr


def test_dev_zero_as_inventory_exits_3_at_once(world: World) -> None:
    run = _validate(world, world.policy, "-i", "/dev/zero")
    assert run.returncode == 3 and "/dev/zero" + LOCATED + "a character device" in run.stderr


def test_a_directory_without_an_inventory_exits_3(world: World) -> None:
    # An inventory directory is read through Ansible (issue 12); an empty one has no hosts.
    empty = world.root / "empty-inventory"
    empty.mkdir()
    r = world.hvdyn("plan", world.policy, "-i", empty)
    assert r.exit_code == 3 and str(empty) in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_an_oversized_policy_exits_3(world: World) -> None:
    big = world.root / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)  # sparse: costs no disk
    r = world.hvdyn("validate", big)
    assert r.exit_code == 3 and "MiB limit" in r.stderr and str(big) + LOCATED in r.stderr


def test_a_file_that_grows_past_the_cap_is_cut_off(tmp_path: Path) -> None:
    """/proc files say size 0; the cap holds on what is actually read."""
    with pytest.raises(PolicyError, match="limit"):
        read_input("/proc/self/maps", PolicyError, max_bytes=10)
    assert read_input("/proc/self/maps", PolicyError)  # size 0 in stat, content read


def test_a_too_long_fixture_name_is_located(world: World) -> None:
    world.inventory.write_text(world.inventory.read_text("utf-8").replace(
        "hv1.yaml", "x" * 300 + ".yaml"), "utf-8")
    r = world.hvdyn("validate", world.policy)
    assert r.traceback_free, r.exception
    assert r.exit_code == 3 and "inventory.yaml:4:" in r.stderr and "File name too long" in r.stderr
