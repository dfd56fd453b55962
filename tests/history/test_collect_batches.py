"""collect: --samples split into scripts, each stored as it returns; progress on a TTY only."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hvdyn.cli.context import load_hosts, transport_factory
from hvdyn.cli.progress import collect_progress
from hvdyn.core.errors import TransportError
from hvdyn.core.model import HostSpec, Script, ScriptResult
from hvdyn.history import open_store
from hvdyn.powershell.record_parser import MAX_OUTPUT_CHARS
from hvdyn.run.collect import (
    OUTPUT_BUDGET_CHARS,
    RECORD_CHARS,
    Collector,
    samples_per_script,
)
from hvdyn.transport import Transport
from tests.runner import run_cli

OBS = Path(__file__).parents[1] / "observe" / "data"
INVENTORY = OBS / "inventory.yaml"


def _cli(state: Path, *args: str) -> tuple[int, str]:
    result = run_cli(*args, state_dir=state, catch_exceptions=True)
    return result.exit_code, result.stdout


def test_scripts_stay_far_below_the_output_cap() -> None:
    assert samples_per_script(40, 300) == 12  # an hour of 5-minute samples
    assert samples_per_script(40, 1) == OUTPUT_BUDGET_CHARS // (41 * RECORD_CHARS)
    assert samples_per_script(5000, 1) == 1
    assert OUTPUT_BUDGET_CHARS * 4 <= MAX_OUTPUT_CHARS


def test_a_sample_record_fits_the_size_estimate(tmp_path: Path) -> None:
    """The real record of a VM with a long name stays under RECORD_CHARS."""
    from hvdyn.powershell.records import encode_record
    record = {"t": "sample", "name": "x" * 100, "ids": ["0A000001-0000-4000-8000-000000000001"],
              "ts": "2026-01-05T00:05:00.1234567+01:00",
              "counters": {k: 2**31 for k in (
                  "PhysicalMemory", "GuestVisiblePhysicalMemory", "CurrentPressure",
                  "AveragePressure", "MinimumPressure", "MaximumPressure", "AddedMemory",
                  "RemovedMemory", "MemoryAddOperations", "MemoryRemoveOperations")}}
    assert len(encode_record(record)) < RECORD_CHARS


def test_many_samples_are_split_and_all_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, out = _cli(state, "collect", "-i", str(INVENTORY), "--limit", "hv-obs-02",
                     "--samples", "150", "--interval", "60", "--format", "json")
    assert code == 0, out
    host = json.loads(out)["hosts"][0]
    assert host["scripts"] == 3  # 60 + 60 + 30 one-minute samples
    with open_store(state) as store:
        times = [b.ts for b in store.balancer_samples(host="hv-obs-02")]
    assert len(times) == 150 and len(set(times)) == 150 and times == sorted(times)


class _FailsOnThirdCollect:
    """The mock host, but the third collect script never comes back."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.collects = 0

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        if script.name == "collect":
            self.collects += 1
            if self.collects == 3:
                raise TransportError("hv-obs-02", "connection reset by peer")
        return self.inner.run(script, timeout_s=timeout_s)

    def close(self) -> None:
        self.inner.close()


def test_a_run_failing_halfway_keeps_what_it_gathered(tmp_path: Path) -> None:
    state = tmp_path / "state"
    hosts = load_hosts(INVENTORY, "hv-obs-02")
    factory = transport_factory(state, ask_pass=False)

    def flaky(spec: HostSpec) -> Transport:
        return _FailsOnThirdCollect(factory(spec))

    seen: list[tuple[str, int, int]] = []
    with open_store(state) as store:
        results = Collector(store, flaky, samples=200, interval_s=60,
                            progress=lambda h, d, t: seen.append((h, d, t))).run(hosts, 1)
        kept = store.balancer_samples(host="hv-obs-02")
    result = results[0]
    assert not result.ok and "stopped after 120 of 200 samples (kept)" in (result.error or "")
    assert result.scripts == 2 and len(kept) == 120
    assert seen == [("hv-obs-02", 0, 200), ("hv-obs-02", 60, 200), ("hv-obs-02", 120, 200)]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    with collect_progress(quiet) as progress:
        progress("hv01", 5, 10)
    assert quiet.getvalue() == ""
    tty = _Tty()
    with collect_progress(tty) as progress:
        progress("hv01", 0, 10)
        progress("hv01", 5, 10)
    assert "hv01" in tty.getvalue() and "5/10" in tty.getvalue()


def test_retention_options_are_checked_and_reported(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, _ = _cli(state, "collect", "-i", str(INVENTORY), "--keep-raw", "1d")
    assert code == 3
    code, _ = _cli(state, "collect", "-i", str(INVENTORY), "--keep-hourly", "7d")
    assert code == 3  # shorter than raw (14d)
    code, out = _cli(state, "collect", "-i", str(INVENTORY), "--samples", "2", "--format",
                     "json")
    assert code == 0 and set(json.loads(out)["retention"]) >= {"samples", "rollups_hourly"}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CI"),
                    reason="needs tmux for a real terminal (in CI, a missing tmux fails)")
def test_progress_on_a_real_terminal(tmp_path: Path) -> None:
    """In a tmux pane (a real TTY) collect draws per-host bars with samples and an ETA."""
    session = f"hvdyn-progress-{os.getpid()}"
    hvdyn = Path(sys.executable).with_name("hvdyn")
    command = (f"HVDYN_STATE_DIR={tmp_path} {hvdyn} collect -i {INVENTORY} --samples 3000 "
               f"--interval 60; sleep 20")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "150", "-y", "20",
                    command], check=True)
    try:
        seen = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
                "/3000 samples" in seen and "hv-obs-01" in seen and "hv-obs-02" in seen):
            time.sleep(0.3)
            seen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                  capture_output=True, text=True).stdout
        assert "hv-obs-01" in seen and "/3000 samples" in seen, seen
        while time.monotonic() < deadline and "summary:" not in seen:
            time.sleep(0.5)
            seen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                  capture_output=True, text=True).stdout
        assert "summary: 2 hosts, 0 failed" in seen
        assert "/3000 samples" not in seen  # the bars go away when collect is done
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
