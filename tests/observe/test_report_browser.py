"""The report page of the 60-VM lab in headless Chromium at real window sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hvdyn.formats.svg import Chart, Marker, Series, render
from tests.runner import run_cli

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
                 ["report", "-o", out], ["report", "-o", out.with_suffix(".svg")]):
        result = run_cli(*args, state_dir=state, catch_exceptions=True)
        assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 800])
def test_no_label_is_clipped_and_nothing_scrolls_sideways(lab_report: Path, width: int) -> None:
    found = layout(lab_report, width)
    assert found["clipped"] == [] and found["overlapping"] == []
    assert found["pageWidth"] <= found["windowWidth"]


@pytest.mark.slow
def test_marker_labels_at_the_edges_and_close_together(tmp_path: Path) -> None:
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    t1 = t0 + timedelta(days=1)
    points = [(t0 + timedelta(minutes=10 * i), 80.0 + (i % 7)) for i in range(145)]
    markers = [Marker(at=t0 + timedelta(minutes=5), label="apply 1"),
               Marker(at=t0 + timedelta(hours=12), label="apply 12"),
               Marker(at=t0 + timedelta(hours=12, minutes=10), label="rollback 13"),
               Marker(at=t1 - timedelta(minutes=5), label="apply 140")]
    charts = [Chart(title=f"pressure {size}", unit="%", series=[Series(name="p", points=points)],
                    thresholds=[(85.0, "85%")], markers=markers, span=(t0, t1),
                    note="the 8 of 38 VMs" if size == "full" else "",
                    **({"width": 340, "plot_height": 80, "legend": False}
                       if size == "small" else {}))
              for size in ("full", "small")]
    page = tmp_path / "markers.html"
    page.write_text("<!DOCTYPE html><html><body>" + "".join(render(c) for c in charts)
                    + "</body></html>")
    found = layout(page, 1280)
    assert found["clipped"] == [] and found["overlapping"] == []


@pytest.mark.slow
def test_the_svg_file_keeps_its_labels_inside_too(lab_report: Path) -> None:
    svg = lab_report.with_suffix(".svg").read_text().split("?>", 1)[1]
    page = lab_report.with_name("svg-page.html")
    page.write_text(f"<!DOCTYPE html><html><body>{svg}</body></html>")
    found = layout(page, 1280)
    assert found["clipped"] == [] and found["overlapping"] == []


@pytest.mark.slow
def test_screenshot(lab_report: Path) -> None:
    png = lab_report.with_suffix(".png")
    screenshot(lab_report, png, (1280, 900))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
