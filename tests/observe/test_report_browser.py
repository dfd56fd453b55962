"""The report page of the 60-VM lab in headless Chromium at real window sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hvdyn.cli import cli

from .browser import layout, screenshot

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def lab_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of the lab, an apply, a day more; the report page of all three hosts."""
    state = tmp_path_factory.mktemp("state")
    out = state / "report.html"
    inventory, policy = ROOT / "inventories" / "lab.yaml", ROOT / "examples" / "lab.yaml"
    for args in (["sim", "reset", "-i", inventory],
                 ["collect", "-i", inventory, "--samples", "48", "--interval", "3600"],
                 ["apply", policy, "--allow-restart"],
                 ["collect", "-i", inventory, "--samples", "24", "--interval", "3600"],
                 ["report", "-o", out]):
        result = CliRunner().invoke(cli, [*map(str, args), "--state-dir", str(state)])
        assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 800])
def test_no_label_is_clipped_and_nothing_scrolls_sideways(lab_report: Path, width: int) -> None:
    found = layout(lab_report, width)
    assert found["clipped"] == []
    assert found["pageWidth"] <= found["windowWidth"]


@pytest.mark.slow
def test_screenshot(lab_report: Path) -> None:
    png = lab_report.with_suffix(".png")
    screenshot(lab_report, png, (1280, 900))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
