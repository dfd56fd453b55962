"""Run a command in a real terminal (a detached tmux pane of a given size) and read the screen.

Why tmux: rich decides layout from the terminal it sees; only a real
pseudo-terminal shows what an operator at 80x24 or 120x40 gets.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest


def needs_tmux() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (CI installs it: .ci/run)")


@dataclass(frozen=True)
class Screen:
    lines: list[str]  # what the terminal shows, scrollback included, trailing blanks cut
    code: int


def screen(argv: Sequence[str | Path], *, width: int, height: int, env: dict[str, str],
           timeout_s: float = 60.0) -> Screen:
    """Run `argv` in a width x height terminal; what it printed there and its exit code."""
    needs_tmux()
    session = f"hvdyn-test-{uuid.uuid4().hex[:8]}"
    done = Path(env["HVDYN_STATE_DIR"]) / f"{session}.done"
    command = " ".join(shlex.quote(str(a)) for a in argv)
    script = f"{command}; echo $? > {shlex.quote(str(done))}; sleep 600"
    base = ["tmux", "-L", session, "-f", "/dev/null"]
    subprocess.run([*base, "new-session", "-d", "-s", session, "-x", str(width), "-y",
                    str(height), "bash", "--norc", "-c", script],
                   check=True, env={**os.environ, **env, "TERM": "xterm-256color"})
    try:
        deadline = time.monotonic() + timeout_s
        while not done.exists() or not done.read_text().strip():
            if time.monotonic() > deadline:
                raise AssertionError(f"{command} did not finish in {timeout_s}s")
            time.sleep(0.1)
        out = subprocess.run([*base, "capture-pane", "-p", "-J", "-S", "-", "-t", session],
                             check=True, capture_output=True, text=True).stdout
        raw = subprocess.run([*base, "capture-pane", "-p", "-S", "-", "-t", session],
                             check=True, capture_output=True, text=True).stdout
    finally:
        subprocess.run([*base, "kill-server"], check=False, capture_output=True)
    joined = [ln.rstrip() for ln in out.rstrip("\n").splitlines()]
    lines = [ln.rstrip() for ln in raw.rstrip("\n").splitlines()]
    assert joined == lines, "a line wrapped at the terminal's edge"
    return Screen(lines=lines, code=int(done.read_text()))
