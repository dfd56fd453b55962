"""Real processes for the Prometheus tests: `hvdyn exporter` and a Prometheus server.

Both listen on 127.0.0.1 on free ports; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "hvdyn-rules.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "hvdyn.json"


def need_binary(name: str) -> str:
    """The binary's path; skip when absent, but fail in CI (CI installs it in .ci/run)."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{name} is not installed, and CI must run this test (.ci/run installs "
                        "Debian's prometheus package)")
        pytest.skip(f"{name} is not installed (Debian: apt-get install -y prometheus)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], bool], timeout_s: float,
             logs: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}\n{logs()}")


def http_get(url: str, params: dict[str, str] | None = None) -> Any:
    full = url + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(full, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body[:1] in (b"{", b"[") else body.decode()


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Process:
    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT,
                                     env=env, cwd=REPO)

    def text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()
        return int(self.proc.returncode)


def start_prometheus(binary: str, tmp: Path, targets: list[str], interval: str = "250ms",
                     rules: Path | None = RULES) -> tuple[Process, str]:
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": interval, "scrape_timeout": interval,
                   "evaluation_interval": "1s"},
        "rule_files": [str(rules)] if rules else [],
        "scrape_configs": [{"job_name": "hvdyn",
                            "static_configs": [{"targets": targets}]}],
    }))
    proc = Process([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                   tmp / "prometheus.log")
    url = f"http://127.0.0.1:{port}"
    wait_for("prometheus to be ready", lambda: proc.proc.poll() is None
             and ready(url + "/-/ready"), 60, proc.text)
    return proc, url


def start_exporter(tmp: Path, state: Path, inventory: Path, *args: str) -> tuple[Process, str]:
    port = free_port()
    env = {**os.environ, "HVDYN_STATE_DIR": str(state)}
    proc = Process([sys.executable, "-m", "hvdyn", "exporter", "-i", str(inventory),
                    "--listen", f"127.0.0.1:{port}", *args], tmp / "exporter.log", env=env)
    address = f"127.0.0.1:{port}"
    wait_for("the exporter to serve /metrics", lambda: proc.proc.poll() is None
             and ready(f"http://{address}/metrics"), 60, proc.text)
    return proc, address
