"""The INI inventories the README and docs/transports.md show work as shown."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.runner import run_cli

REPO = Path(__file__).resolve().parents[2]
BESIDE = Path(sys.executable).with_name("ansible-inventory")
HAVE_ANSIBLE = bool(shutil.which("ansible-inventory") or BESIDE.is_file())
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HAVE_ANSIBLE, reason="needs ansible-core"),
]


def hvdyn(*args: str | Path) -> tuple[int, str, str]:
    result = run_cli(*args)
    return result.exit_code, result.stdout, result.stderr


def test_ini_lab_resolves_like_the_yaml_lab(tmp_path: Path) -> None:
    lists = []
    for source in ("inventories/lab.yaml", "inventories/lab-ini/hosts.ini"):
        code, out, err = hvdyn("inventory", "-i", REPO / source, "--list")
        assert code == 0, err
        lists.append([{k: v for k, v in h.items() if k != "groups"} for h in
                      json.loads(out)["hosts"]])
    assert lists[0] == lists[1]
    assert all(h["transport"] == "mock" for h in lists[1])
    code, out, err = hvdyn("plan", REPO / "examples" / "lab.yaml", "-i",
                           REPO / "inventories" / "lab-ini" / "hosts.ini", "--limit", "hyperv[0]",
                           "--state-dir", tmp_path / "state")
    assert code in (0, 2), err
    assert "summary: 1 host," in out


def test_transports_doc_ini_example_prints_what_it_says(tmp_path: Path) -> None:
    doc = (REPO / "docs" / "transports.md").read_text(encoding="utf-8")
    section = doc[doc.index("### An INI inventory with group_vars") :]
    blocks = re.findall(r"```(?:ini|yaml|)\n(.*?)```", section, re.S)
    ini, group_vars, session = blocks[0], blocks[1], blocks[2]
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "hosts.ini").write_text(ini, encoding="utf-8")
    (tmp_path / "group_vars" / "hyperv.yml").write_text(group_vars, encoding="utf-8")
    command, *shown = session.strip().splitlines()
    limit = re.search(r"--limit '([^']+)'", command)
    assert command.startswith("$ hvdyn inventory -i /etc/hvdyn/hosts.ini") and limit
    code, out, err = hvdyn("inventory", "-i", tmp_path / "hosts.ini", "--limit", limit[1])
    assert code == 0, err
    assert out.splitlines() == shown
