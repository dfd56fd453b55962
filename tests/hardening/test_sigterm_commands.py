"""SIGTERM ends every command like Ctrl-C: exit 1 ("aborted", as Ctrl-C says), never 143.

systemd's stop and `timeout` send SIGTERM to the timers' collect and audit
jobs too, not only to apply (which has its own handling, test_signals.py).
The README's contract: a run interrupted by Ctrl-C or SIGTERM exits 1.
"""

from __future__ import annotations

import fcntl
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_signals import _waits_for_lock

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "tests" / "observe" / "data" / "inventory.yaml"
POLICY = REPO / "tests" / "observe" / "data" / "policy.yaml"


@pytest.mark.parametrize("command", [
    ["collect", "-i", str(INVENTORY), "--samples", "2"],
    ["audit", "-i", str(INVENTORY), str(POLICY)],
])
def test_sigterm_mid_command_exits_1(command: list[str], tmp_path: Path) -> None:
    state = tmp_path / "state"
    subprocess.run([sys.executable, "-m", "hvdyn", "collect", "-i", str(INVENTORY),
                    "--samples", "1", "--state-dir", str(state)], check=True,
                   capture_output=True, timeout=120, cwd=REPO)
    (lock_path,) = (state / "sim").glob("hv-obs-02-*.json.lock")
    with lock_path.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        proc = subprocess.Popen([sys.executable, "-m", "hvdyn", *command, "--state-dir",
                                 str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=REPO)
        deadline = time.monotonic() + 60
        while not _waits_for_lock(proc.pid):  # mid-command: a host is being worked on
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
    _, err = proc.communicate(timeout=60)  # the lock is free: the host in flight finishes
    assert proc.returncode == 1, (proc.returncode, err)
    assert ("aborted" in err or "interrupted" in err) and "Traceback" not in err, err
