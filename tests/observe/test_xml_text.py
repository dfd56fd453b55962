"""Names with characters XML 1.0 forbids still give JUnit and SVG files that parse."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from hvdyn.formats.xmltext import escape, xml_chars
from tests.runner import run_cli


def test_forbidden_characters_are_made_visible() -> None:
    assert xml_chars("a\x01b\x1bc\ufffe\tok\U0001f600") == "a\\x01b\\x1bc\\ufffe\tok\U0001f600"
    assert escape("<x\x00>") == "&lt;x\\x00&gt;"


def test_junit_and_svg_parse_with_a_control_character_in_a_vm_name(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text(
        "host: {memory: 16GB}\nvms:\n"
        '  - {name: "bad\\x01name", state: running, os: Windows 7 Enterprise,'
        " memory: {dynamic: true, startup: 1GB, maximum: 4GB, buffer: 20}}\n",
        encoding="utf-8",
    )
    (tmp_path / "inv.yaml").write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n    hv01: {hvdyn_mock_fixture: f.yaml}\n",
        encoding="utf-8",
    )
    (tmp_path / "p.yaml").write_text("version: 1\ndefaults: {buffer: 10}\n", encoding="utf-8")
    def run(*args: str) -> int:
        return run_cli(*args, state_dir=tmp_path / "state").exit_code

    assert run("collect", "-i", str(tmp_path / "inv.yaml"), "--samples", "30") == 0
    junit = tmp_path / "a.xml"
    assert (
        run(
            "audit",
            str(tmp_path / "p.yaml"),
            "-i",
            str(tmp_path / "inv.yaml"),
            "--format",
            "junit",
            "-o",
            str(junit),
        )
        == 2
    )
    names = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase")]
    assert any(n and n.startswith("bad\\x01name") for n in names)
    svg = tmp_path / "r.svg"
    assert run("report", "--host", "hv01", "-o", str(svg)) == 0
    ET.parse(svg)  # well-formed
