"""Every user mistake exits 3 with a message that says where and what; never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.runner import Hvdyn

from .helpers import LAB_INVENTORY, REPO


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BAD_POLICIES = {
    "unknown key": ("version: 1\ndefaults:\n  startup: 1GB\n  colour: red\n", ":4:3: defaults"),
    "size without unit": ("version: 1\ndefaults:\n  startup: 1024\n", ":3:12: defaults.startup"),
    "odd MB": ("version: 1\ndefaults:\n  startup: 1025MB\n", ":3:12: defaults.startup"),
    "buffer out of range": ("version: 1\ndefaults:\n  buffer: 2\n", ":3:11: defaults.buffer"),
    "weight out of range": ("version: 1\ndefaults:\n  weight: 10001\n", ":3:11: defaults.weight"),
    "startup above maximum": (
        "version: 1\ndefaults:\n  dynamic: true\n  startup: 8GB\n  maximum: 4GB\n",
        ":4:",
    ),
    "yaml syntax": ("version: 1\ndefaults: [\n", ":"),
}


@pytest.mark.parametrize("case", sorted(BAD_POLICIES))
def test_bad_policy_exits_3_with_file_line_col(hvdyn: Hvdyn, tmp_path: Path, case: str) -> None:
    text, where = BAD_POLICIES[case]
    policy = write(tmp_path / "p.yaml", text)
    run = hvdyn("plan", policy, "-i", LAB_INVENTORY)
    assert run.exit_code == 3, run.stdout
    assert f"{policy}{where}" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_missing_policy_file_exits_3(hvdyn: Hvdyn, tmp_path: Path) -> None:
    run = hvdyn("plan", tmp_path / "nope.yaml", "-i", LAB_INVENTORY)
    assert run.exit_code == 3 and "nope.yaml" in run.stderr


def test_policy_without_inventory_says_how_to_give_one(hvdyn: Hvdyn, tmp_path: Path) -> None:
    policy = write(tmp_path / "p.yaml", "version: 1\ndefaults: {buffer: 20}\n")
    run = hvdyn("plan", policy)
    assert run.exit_code == 3 and "-i/--inventory" in run.stderr


def test_bad_inventory_exits_3_with_position(hvdyn: Hvdyn, tmp_path: Path) -> None:
    inv = write(
        tmp_path / "inv.yaml",
        "all:\n  hosts:\n    hv01:\n      ansible_password: hunter2\n",
    )
    policy = write(tmp_path / "p.yaml", "version: 1\ndefaults: {buffer: 20}\n")
    run = hvdyn("plan", policy, "-i", inv)
    assert run.exit_code == 3
    assert f"{inv}:4:" in run.stderr and "hvdyn_password_env" in run.stderr
    assert "hunter2" not in run.stderr


def test_unknown_limit_exits_3(hvdyn: Hvdyn) -> None:
    run = hvdyn("plan", REPO / "examples" / "lab.yaml", "--limit", "nosuchhost")
    assert run.exit_code == 3 and "nosuchhost" in run.stderr


def test_usage_error_exits_3(hvdyn: Hvdyn) -> None:
    run = hvdyn("plan", REPO / "examples" / "lab.yaml", "--forks", "0")
    assert run.exit_code == 3


def test_console_script_prints_no_traceback_for_a_bad_policy(tmp_path: Path) -> None:
    policy = write(tmp_path / "p.yaml", "version: 2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "hvdyn", "validate", str(policy), "-i", str(LAB_INVENTORY)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert f"{policy}:1:10: version" in proc.stderr and "Traceback" not in proc.stderr


def test_validate_checks_simulated_host_fixtures(hvdyn: Hvdyn, tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text(
        "host: {memory: 16GB}\nvms:\n  - {name: a, memory: {startup: 1000}}\n", encoding="utf-8"
    )
    inventory = write(
        tmp_path / "inv.yaml",
        "all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n    hv01: {hvdyn_mock_fixture: f.yaml}\n",
    )
    policy = write(tmp_path / "p.yaml", "version: 1\ndefaults: {buffer: 20}\n")
    run = hvdyn("validate", policy, "-i", inventory)
    assert run.exit_code == 3
    assert f"{tmp_path / 'f.yaml'}:3:" in run.stderr and "vms[0].memory.startup" in run.stderr
