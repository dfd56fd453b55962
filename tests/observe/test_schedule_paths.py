"""schedule: odd -o DIRs and --name values exit 3; paths and arguments with spaces, `%`
or `$` reach the job as typed (systemd expands `%` specifiers and `$VAR`, and reads
Environment= up to the first space; cron turns `%` into a newline)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.runner import run_cli

from .conftest import INVENTORY, POLICY


def _schedule(*args: str | Path) -> tuple[int, str, str]:
    result = run_cli("schedule", *args, catch_exceptions=True)
    assert result.traceback_free, repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def test_output_dir_that_is_a_file_or_under_one_exits_3(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("keep\n")
    for out in (a_file, a_file / "units", tmp_path / "missing" / "units", Path("/dev/null")):
        code, _, err = _schedule("--systemd", "-o", out, "--", "audit", POLICY)
        assert code == 3, (out, err)
        assert str(out) in err, err
    assert a_file.read_text() == "keep\n"


@pytest.mark.parametrize("name", ["my job", "../escape", "a/b", "", "x%i", "a\nb"])
def test_a_unit_name_systemd_cannot_load_exits_3(name: str, tmp_path: Path) -> None:
    for kind in ("--systemd", "--cron"):
        args: list[str | Path] = [kind, "--name", name]
        if kind == "--systemd":
            args += ["-o", tmp_path / "units"]
        code, _, err = _schedule(*args, "--", "collect", "-i", INVENTORY)
        assert code == 3 and "--name" in err, (kind, name, err)
    assert not (tmp_path / "escape.service").exists()
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "units"])


def _service(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines()
                if "=" in line and not line.startswith("#"))


def test_percent_dollar_and_spaces_reach_the_job_as_typed(tmp_path: Path) -> None:
    state = tmp_path / "my state%n"
    report = "/srv/www/hvdyn-%H-$HOME.html"
    code, out, err = _schedule("--systemd", "--state-dir", state, "--", "report", "-o", report)
    assert code == 0, err
    service = _service(out)
    assert service["Environment"] == f'"HVDYN_STATE_DIR={tmp_path}/my state%%n"'
    assert "'/srv/www/hvdyn-%%H-$$HOME.html'" in service["ExecStart"], service["ExecStart"]
    code, out, err = _schedule("--cron", "--state-dir", state, "--", "report", "-o", report)
    assert code == 0, err
    line = out.splitlines()[-1]
    assert "%" not in line.replace("\\%", ""), line  # an unescaped % ends cron's command
    assert "hvdyn-\\%H-$HOME.html" in line and "my state\\%n" in line


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("command", ["audit", "exporter"])
def test_units_for_a_state_dir_with_a_space_pass_verify_cleanly(command: str,
                                                                tmp_path: Path) -> None:
    state, units = tmp_path / "my state", tmp_path / "units"
    args = [POLICY] if command == "audit" else ["-i", INVENTORY]
    code, _, err = _schedule("--systemd", "--state-dir", state, "-o", units, "--", command,
                             *args)
    assert code == 0, err
    files = sorted(str(p) for p in units.iterdir())
    verified = subprocess.run(["systemd-analyze", "verify", *files], capture_output=True,
                              text=True, timeout=60, check=False,
                              env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    assert verified.returncode == 0, verified.stderr
    assert "nvalid environment" not in verified.stderr, verified.stderr


def test_exporter_once_is_scheduled_as_a_timer_job(tmp_path: Path) -> None:
    """`exporter --once -o FILE.prom` is a textfile job (a timer, or cron), not a service:
    as a Restart=on-failure service it would run once and never again (or restart every
    30 s while a host is down)."""
    prom = tmp_path / "hvdyn.prom"
    code, out, err = _schedule("--systemd", "--", "exporter", "-i", INVENTORY, "--once",
                               "-o", prom)
    assert code == 0, err
    assert "[Timer]" in out and "Type=oneshot" in out, out
    assert "Restart=" not in out and "SuccessExitStatus" not in out
    code, out, err = _schedule("--cron", "--", "exporter", "-i", INVENTORY, "--once",
                               "-o", prom)
    assert code == 0 and f"--once -o {prom}" in out, err
    code, out, _ = _schedule("--systemd", "--", "exporter", "-i", INVENTORY)
    assert code == 0 and "Type=simple" in out and "[Timer]" not in out
