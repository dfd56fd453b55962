"""report and recommend before any collect, and report's HTML kept off a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli.terminal import screen
from tests.runner import Hvdyn

from .conftest import INVENTORY


@pytest.mark.parametrize("command", ["report", "recommend"])
def test_no_history_yet_says_collect_first(hvdyn: Hvdyn, command: str, tmp_path: Path) -> None:
    run = hvdyn(command, "-o", tmp_path / ("r.html" if command == "report" else "r.yaml"))
    assert run.exit_code == 3
    assert "no samples yet in" in run.stderr and "run `hvdyn collect` first" in run.stderr
    assert not list(tmp_path.glob("r.*"))


def test_limit_naming_a_host_without_samples(hvdyn: Hvdyn) -> None:
    collect = hvdyn("collect", "-i", INVENTORY, "--samples", "2", "--limit", "hv-obs-01")
    assert collect.exit_code == 0
    run = hvdyn("recommend", "--limit", "hv-obs-02")
    assert run.exit_code == 3
    assert "no samples yet for hv-obs-02: run `hvdyn collect` first" in run.stderr
    assert "hosts with samples: hv-obs-01" in run.stderr
    assert hvdyn("recommend", "--host", "hv-obs-0*").exit_code == 0  # the older name still works
    assert hvdyn("recommend", "--limit", "hv-obs-0*,!hv-obs-01").exit_code == 3  # selects none


@pytest.mark.slow
def test_report_refuses_to_print_html_on_a_terminal(hvdyn: Hvdyn, state: Path) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "2").exit_code == 0
    shown = screen([sys.executable, "-m", "hvdyn", "report", "--state-dir", state], width=120,
                   height=40, env={"HVDYN_STATE_DIR": str(state)})
    assert shown.code == 3
    text = "\n".join(shown.lines)
    assert "<html" not in text and "<svg" not in text
    assert "give -o FILE.html" in text
