"""SIGTERM stops the exporter within its grace even while a host's collection hangs.

systemd sends SIGTERM and SIGKILLs after TimeoutStopSec (30 s in the unit
`schedule` writes); a host that stops answering mid-collection holds its
collection until the transport's deadline (minutes on a real host). The
exporter must exit 0 within its few seconds of grace, not wait for it.
"""

from __future__ import annotations

import fcntl
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .servers import REPO, http_get, start_exporter, wait_for

OBSERVE = REPO / "tests" / "observe" / "data"


@pytest.mark.slow
def test_sigterm_while_a_collection_hangs_exits_within_the_grace(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory = OBSERVE / "inventory.yaml"
    subprocess.run([sys.executable, "-m", "hvdyn", "collect", "-i", str(inventory),
                    "--samples", "1", "--state-dir", str(state)], check=True,
                   capture_output=True, timeout=120, cwd=REPO)
    (lock_path,) = (state / "sim").glob("hv-obs-02-*.json.lock")
    with lock_path.open("a") as held:  # the simulated host hangs: its script waits for this
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        proc, address = start_exporter(tmp_path, state, inventory, "--interval", "1s")
        wait_for("hv-obs-01 collected twice (hv-obs-02 is then in flight)",
                 lambda: 'hvdyn_collections_total{host="hv-obs-01"} 2.0'
                 in http_get(f"http://{address}/metrics"), 60, proc.text)
        assert 'hvdyn_collections_total{host="hv-obs-02"}' in http_get(
            f"http://{address}/metrics")
        started = time.monotonic()
        code = proc.stop(signal.SIGTERM, timeout_s=25)
        took = time.monotonic() - started
    assert code == 0, proc.text()
    assert took < 15, f"took {took:.1f} s to stop: {proc.text()}"
    assert "hv-obs-02" in proc.text() and "stopped" in proc.text()
    assert "Traceback" not in proc.text()


@pytest.mark.slow
def test_the_serving_line_counts_one_host_in_the_singular(tmp_path: Path) -> None:
    proc, _ = start_exporter(tmp_path, tmp_path / "state", OBSERVE / "inventory.yaml",
                             "--limit", "hv-obs-01", "--interval", "1h")
    assert proc.stop(signal.SIGTERM) == 0, proc.text()
    assert "1 host every 1h" in proc.text(), proc.text()
