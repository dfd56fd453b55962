"""SIGTERM (systemd, `timeout`) is handled like Ctrl-C in apply; interrupted runs exit 1."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hvdyn.sim import load_state, state_path
from tests.worlds import Make, World

from .conftest import vm

pytestmark = pytest.mark.slow


def _waits_for_lock(pid: int) -> bool:
    """True once `pid` is blocked on a lock: a "N: -> FLOCK ... PID ..." line of /proc/locks."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "->" and fields[5] == str(pid):
            return True
    return False


def _hvdyn(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hvdyn", *args, "--state-dir", str(world.state)],
                          capture_output=True, text=True, check=False, timeout=120)


def _until(predicate: object, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signum", "times"),
    [(signal.SIGTERM, 1), (signal.SIGINT, 1), (signal.SIGTERM, 2)],
    ids=["TERM", "INT", "TERM-twice"],
)
def test_a_signal_mid_apply_finishes_in_flight_work_and_exits_1(
    make_world: Make, signum: signal.Signals, times: int
) -> None:
    w: World = make_world({"hv1": "vms:\n" + vm("a"), "hv2": "vms:\n" + vm("b")})
    fixture2 = w.hosts["hv2"].resolve()
    lock_path = Path(str(state_path(w.state, "hv2", fixture2)) + ".lock")
    lock_path.parent.mkdir(parents=True)
    with lock_path.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # hv2 waits here; hv1 goes through
        proc = subprocess.Popen(
            [sys.executable, "-m", "hvdyn", "apply", str(w.policy), "--forks", "2",
             "--state-dir", str(w.state)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            _until(lambda: proc.poll() is not None or _waits_for_lock(proc.pid), "hv2 blocked")
            _until(lambda: proc.poll() is not None or load_state(
                w.state, "hv1", w.hosts["hv1"].resolve()).vms[0].memory.weight == 5000,
                "hv1 applied")
            assert proc.poll() is None, proc.communicate()
            for _ in range(times):
                proc.send_signal(signum)
                time.sleep(0.5)
        finally:
            fcntl.flock(held.fileno(), fcntl.LOCK_UN)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err
    assert "interrupted" in err and "starting no more hosts or VMs" in err
    [run] = json.loads(_hvdyn(w, "runs", "--format", "json").stdout)["runs"]
    assert (run["outcome"], run["exit_code"]) == ("interrupted", 1)
    shown = json.loads(_hvdyn(w, "runs", "show", str(run["id"]), "--format", "json").stdout)
    assert [(v["host"], v["outcome"]) for v in shown["vms"]] == [("hv1", "applied")]
    assert load_state(w.state, "hv2", fixture2).vms[0].memory.weight == 100  # not sent
