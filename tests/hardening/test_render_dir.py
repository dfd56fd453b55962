"""render -o DIR: stale scripts of an earlier render go; files hvdyn did not write stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdyn.formats.render_dir import manifest
from tests.worlds import Make, World

from .conftest import vm


@pytest.fixture
def world(make_world: Make) -> World:
    return make_world({"hv1": "vms:\n" + vm("a"), "hv2": "vms:\n" + vm("b")})


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_a_second_render_removes_the_scripts_it_does_not_write_again(world: World) -> None:
    out = world.root / "out"
    first = world.hvdyn("render", world.policy, "-o", out)
    assert first.exit_code == 0 and f"created directory {out}" in first.stderr
    assert names(out) == {"hv1.ps1", "hv2.ps1", "plan.json", "README.txt"}
    second = world.hvdyn("render", world.policy, "-o", out, "--limit", "hv1")
    assert second.exit_code == 0, second.stderr
    assert names(out) == {"hv1.ps1", "plan.json", "README.txt"}
    assert "removed 1 files of an earlier render: hv2.ps1" in second.stdout
    assert "Files: hv1.ps1, plan.json, README.txt" in (out / "README.txt").read_text("utf-8")


def test_files_hvdyn_did_not_write_are_refused_then_left_alone(world: World) -> None:
    out = world.root / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    refused = world.hvdyn("render", world.policy, "-o", out)
    assert refused.exit_code == 3 and "notes.txt" in refused.stderr and "--force" in refused.stderr
    assert names(out) == {"notes.txt"}
    forced = world.hvdyn("render", world.policy, "-o", out, "--force")
    assert forced.exit_code == 0, forced.stderr
    again = world.hvdyn("render", world.policy, "-o", out, "--force", "--limit", "hv2")
    assert again.exit_code == 0
    assert names(out) == {"notes.txt", "hv2.ps1", "plan.json", "README.txt"}
    assert (out / "notes.txt").read_text("utf-8") == "mine"


def test_a_file_of_the_same_name_is_never_overwritten(world: World) -> None:
    out = world.root / "out"
    out.mkdir()
    (out / "README.txt").write_text("someone else's readme", encoding="utf-8")
    r = world.hvdyn("render", world.policy, "-o", out, "--force")
    assert r.exit_code == 3 and "would overwrite README.txt" in r.stderr
    assert (out / "README.txt").read_text("utf-8") == "someone else's readme"


def test_a_listed_name_that_is_now_a_symlink_is_not_removed(world: World) -> None:
    out = world.root / "out"
    assert world.hvdyn("render", world.policy, "-o", out).exit_code == 0
    (out / "hv2.ps1").unlink()
    (out / "hv2.ps1").symlink_to(world.policy)
    assert world.hvdyn("render", world.policy, "-o", out, "--limit", "hv1").exit_code == 0
    assert (out / "hv2.ps1").is_symlink() and world.policy.exists()


def test_missing_parents_are_refused(world: World) -> None:
    r = world.hvdyn("render", world.policy, "-o", world.root / "a" / "b")
    assert r.exit_code == 3 and "does not exist" in r.stderr
    assert not (world.root / "a").exists()


def test_a_readme_of_an_earlier_version_is_understood() -> None:
    old = ("hvdyn render output\n===\n\nRendered from policy p.yaml (sha256 x).\n"
           "Hosts: a.ps1, b.ps1\n")
    assert manifest(old) == {"a.ps1", "b.ps1", "plan.json", "README.txt"}
    assert manifest("my notes\nFiles: a.ps1\n") is None
    assert manifest("hvdyn render output\nFiles: ../x, a.ps1, /etc/passwd\n") == {"a.ps1"}
