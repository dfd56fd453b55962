"""report (SVG / HTML) and schedule (systemd / cron)."""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from tests.runner import Hvdyn

from .conftest import INVENTORY, POLICY

NS = "{http://www.w3.org/2000/svg}"


def _charts(root: ET.Element) -> dict[str, ET.Element]:
    """Each chart (a nested <svg>) by its own title."""
    return {svg.findtext(f"{NS}title") or "": svg for svg in root.iter(f"{NS}svg")
            if svg is not root}


def test_svg_report_for_one_vm(collected: Hvdyn, tmp_path: Path) -> None:
    out = tmp_path / "r.svg"
    run = collected("report", "--limit", "hv-obs-01", "--vm", "busy", "-o", out)
    assert run.exit_code == 0
    charts = _charts(ET.parse(out).getroot())
    assert set(charts) == {"hv-obs-01: balancer available memory",
                           "hv-obs-01: average pressure per VM",
                           "hv-obs-01/busy: memory pressure", "hv-obs-01/busy: assigned memory"}
    memory = charts["hv-obs-01/busy: assigned memory"]
    names = [g.get("data-name") for g in memory.iter(f"{NS}g") if g.get("data-name")]
    assert names == ["assigned", "startup", "maximum"]
    line = memory.find(f".//{NS}polyline")
    assert line is not None and len(line.get("points", "").split()) == 48


def test_html_report_and_bad_suffix(collected: Hvdyn, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert collected("report", "-o", out).exit_code == 0
    tags: list[str] = []

    class P(HTMLParser):
        def handle_starttag(self, tag: str, attrs: object) -> None:
            tags.append(tag)

    P().feed(out.read_text())
    # per host: an overview sparkline, pressure and available memory; per attributable VM
    # a pressure and a memory chart (all of these VMs have Dynamic Memory on)
    assert tags.count("svg") == (3 + 2 * 5) + (3 + 2 * 1)
    assert collected("report", "-o", tmp_path / "r.png").exit_code == 3
    assert collected("report", "--host", "nope").exit_code == 3
    nothing = collected("report", "--vm", "nosuch-*", "-o", tmp_path / "n.html")
    assert nothing.exit_code == 3 and "--vm nosuch-*: no VM with samples matches" in nothing.stderr


def test_schedule_systemd_uses_absolute_paths(hvdyn: Hvdyn, state: Path) -> None:
    run = hvdyn("schedule", "--systemd", "--on-calendar", "*:0/30", "--", "audit", POLICY,
             "--format", "junit", "-o", "audit.xml")
    assert run.exit_code == 0
    text = run.stdout
    assert f"Environment=HVDYN_STATE_DIR={state.absolute()}" in text
    assert "OnCalendar=*:0/30" in text and "[Install]" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(exec_line.removeprefix("ExecStart="))
    assert Path(argv[0]).is_absolute()
    assert argv[1:3] == ["audit", str(POLICY.absolute())]
    assert argv[-1] == str(Path("audit.xml").absolute())
    assert "SuccessExitStatus=2" in text


def test_schedule_cron_line(hvdyn: Hvdyn, state: Path) -> None:
    run = hvdyn("schedule", "--cron", "--cron-expr", "*/5 * * * *", "--", "collect", "-i",
             INVENTORY, "--samples", "1")
    line = next(ln for ln in run.stdout.splitlines() if not ln.startswith("#"))
    fields = line.split()
    assert fields[:5] == ["*/5", "*", "*", "*", "*"]
    assert fields[5] == f"HVDYN_STATE_DIR={state.absolute()}"
    assert str(INVENTORY.absolute()) in line and ">>" in line
    assert hvdyn("schedule", "--", "audit", POLICY).exit_code == 3
    assert hvdyn("schedule", "--cron", "--cron-expr", "hourly", "--", "audit").exit_code == 3
