"""The issue's done criterion on the bundled lab: collect, audit (2), apply, audit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.runner import Hvdyn

from .conftest import ROOT

LAB_POLICY = ROOT / "examples" / "lab.yaml"


def _failures(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and int(root.get("tests", "0")) > 0
    return root.findall(".//testcase/failure")


def test_lab_audit_before_and_after_apply(hvdyn: Hvdyn, tmp_path: Path) -> None:
    assert hvdyn("collect", "-i", ROOT / "inventories" / "lab.yaml",
                 "--samples", "48").exit_code == 0
    before = tmp_path / "before.xml"
    run = hvdyn("audit", LAB_POLICY, "--format", "junit", "-o", before)
    assert run.exit_code == 2
    failures = _failures(before)
    assert {f.get("type") for f in failures} >= {"HVD101"}

    assert hvdyn("apply", LAB_POLICY, "--allow-restart").exit_code == 0

    after = tmp_path / "after.xml"
    run = hvdyn("audit", LAB_POLICY, "--format", "junit", "-o", after)
    remaining = _failures(after)
    assert not [f for f in remaining if f.get("type") in ("HVD101", "HVD102")]  # no drift
    if run.exit_code == 2:  # only error-severity health findings may remain, each named
        assert remaining
        for failure in remaining:
            assert failure.get("type") in run.stderr
    else:
        assert run.exit_code == 0 and not remaining

    # fresh samples under the applied settings: the lab is healthy (warnings only)
    assert hvdyn("collect", "-i", ROOT / "inventories" / "lab.yaml",
                 "--samples", "48").exit_code == 0
    run = hvdyn("audit", LAB_POLICY, "--since", "45m", "--format", "json")
    doc = json.loads(run.stdout)
    assert run.exit_code == 0, [f for f in doc["findings"] if f["severity"] == "error"]
    assert {f["id"] for f in doc["findings"]} <= {"HVD110", "HVD112", "HVD120"}
