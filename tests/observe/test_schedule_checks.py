"""schedule: cron fields and OnCalendar= are checked; -o DIR writes units systemd accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hvdyn.core.errors import InputError
from hvdyn.formats.schedule_units import check_cron
from tests.runner import Hvdyn

from .conftest import INVENTORY, POLICY


@pytest.mark.parametrize("expr", ["*/5 * * * *", "0 7 * * 1-5", "0,30 8-18/2 1 jan-mar sun",
                                  "59 23 31 12 7", "  0  *  * * *  "])
def test_valid_cron_expressions(expr: str) -> None:
    assert check_cron(expr) == " ".join(expr.split())


@pytest.mark.parametrize(("expr", "says"), [
    ("61 * * * *", "minute 61 is out of range (allowed: 0-59)"),
    ("0 24 * * *", "hour 24 is out of range (allowed: 0-23)"),
    ("0 0 0 * *", "day of month 0 is out of range (allowed: 1-31)"),
    ("0 0 * 13 *", "month 13 is out of range"),
    ("0 0 * * 8", "day of week 8 is out of range (allowed: 0-7)"),
    ("*/0 * * * *", "minute step 0"),
    ("30-10 * * * *", "range 30-10 runs backwards"),
    ("x * * * *", "minute 'x' is not a number"),
    ("0 * * *", "needs five fields"),
    ("@hourly", "needs five fields"),
])
def test_invalid_cron_expressions(expr: str, says: str) -> None:
    with pytest.raises(InputError, match=says.replace("(", r"\(").replace(")", r"\)")):
        check_cron(expr)


@given(st.text(max_size=40))
def test_cron_check_accepts_or_names_the_problem(expr: str) -> None:
    try:
        normalised = check_cron(expr)
    except InputError as exc:
        assert str(exc).startswith("--cron-expr ")
    else:
        assert len(normalised.split(" ")) == 5 and check_cron(normalised) == normalised


def test_cron_line_refused_for_a_bad_field(hvdyn: Hvdyn) -> None:
    run = hvdyn("schedule", "--cron", "--cron-expr", "61 * * * *", "--", "audit", POLICY)
    assert run.exit_code == 3 and "minute 61 is out of range" in run.stderr


def test_collect_jobs_carry_no_drift_comment(hvdyn: Hvdyn) -> None:
    cron = hvdyn("schedule", "--cron", "--", "collect", "-i", INVENTORY).stdout
    unit = hvdyn("schedule", "--systemd", "--", "collect", "-i", INVENTORY).stdout
    for text in (cron, unit):
        assert "exit 2" not in text and "drift" not in text
    assert "SuccessExitStatus" not in unit
    assert "#EnvironmentFile=" in unit
    audit = hvdyn("schedule", "--systemd", "--", "audit", POLICY).stdout
    assert "SuccessExitStatus=2" in audit and "#EnvironmentFile=" in audit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_on_calendar_is_checked_by_systemd(hvdyn: Hvdyn) -> None:
    bad = hvdyn("schedule", "--systemd", "--on-calendar", "hourlyy", "--", "audit", POLICY)
    assert bad.exit_code == 3 and "systemd-analyze calendar says" in bad.stderr
    good = hvdyn("schedule", "--systemd", "--on-calendar", "Mon..Fri *-*-* 06:00", "--", "audit",
              POLICY)
    assert good.exit_code == 0 and "OnCalendar=Mon..Fri *-*-* 06:00" in good.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_output_dir_units_pass_systemd_analyze_verify(hvdyn: Hvdyn, tmp_path: Path) -> None:
    units = tmp_path / "units"
    run = hvdyn("schedule", "--systemd", "--name", "hvdyn-audit", "-o", units,
                "--", "audit", POLICY)
    assert run.exit_code == 0, run.stderr
    service, timer = units / "hvdyn-audit.service", units / "hvdyn-audit.timer"
    assert f"systemctl link {service.absolute()} {timer.absolute()}" in run.stdout
    verified = subprocess.run(["systemd-analyze", "verify", str(service), str(timer)],
                              capture_output=True, text=True, timeout=60, check=False)
    assert verified.returncode == 0, verified.stderr
    assert hvdyn("schedule", "--cron", "-o", units, "--", "audit", POLICY).exit_code == 3
