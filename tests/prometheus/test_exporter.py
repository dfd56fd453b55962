"""hvdyn exporter on simulated hosts: what /metrics holds, stale hosts, slow hosts, signals."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hvdyn.cli.context import load_hosts, transport_factory
from hvdyn.core.model import HostSpec, Script
from hvdyn.history import open_store
from hvdyn.prometheus.exporter import Exporter, Schedule, open_capturing_store
from hvdyn.prometheus.expose import families
from hvdyn.transport import ScriptResult, Transport
from tests.runner import run_cli

from .servers import REPO, free_port, http_get, start_exporter, wait_for

OBSERVE = REPO / "tests" / "observe" / "data"
MB = 1024 * 1024


def _copy_hosts(tmp: Path) -> Path:
    """The observe-test hosts in a directory the test may edit (faults)."""
    target = tmp / "hosts"
    shutil.copytree(OBSERVE, target, ignore=shutil.ignore_patterns("policy.yaml"))
    return target / "inventory.yaml"


def _fault(inventory: Path, fixture: str) -> None:
    path = inventory.parent / fixture
    doc = yaml.safe_load(path.read_text())
    doc["faults"] = [{"op": "connect", "error": "unreachable"}]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _once(inventory: Path, state: Path, *args: str) -> tuple[int, dict[str, dict]]:  # type: ignore[type-arg]
    result = run_cli("exporter", "-i", inventory, "--once", "--state-dir", state, *args)
    metrics: dict[str, dict] = {}  # type: ignore[type-arg]
    for family in text_string_to_metric_families(result.stdout):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            metrics.setdefault(sample.name, {})[key] = sample.value
    return result.exit_code, metrics


def _value(metrics: dict[str, dict], name: str, **labels: str) -> float:  # type: ignore[type-arg]
    found = [v for k, v in metrics.get(name, {}).items() if labels.items() <= dict(k).items()]
    assert len(found) == 1, (name, labels, found)
    return float(found[0])


def test_once_exposes_what_the_store_holds_in_base_units(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, metrics = _once(OBSERVE / "inventory.yaml", state)
    assert code == 0
    assert _value(metrics, "hvdyn_up", host="hv-obs-01") == 1
    with open_store(state) as store:
        rows = [(s.host, s.vm_id, s.physical_mb, s.average_pressure, s.added_mb)
                for s in store.samples(include_ambiguous=False)]
        settings = [(s.host, s.vm_id, s.maximum_mb, s.buffer)
                    for s in store.latest_vm_settings()]
        ts = store.newest_ts("hv-obs-01")
    assert rows and settings
    for host, vm_id, physical, pressure, added in rows:
        assert _value(metrics, "hvdyn_vm_assigned_memory_bytes", host=host,
                      vm_id=vm_id) == physical * MB
        assert _value(metrics, "hvdyn_vm_pressure_average_percent", host=host,
                      vm_id=vm_id) == pressure
        assert _value(metrics, "hvdyn_vm_memory_added_bytes_total", host=host,
                      vm_id=vm_id) == added * MB
    for host, vm_id, maximum, buffer in settings:
        assert _value(metrics, "hvdyn_vm_maximum_memory_bytes", host=host,
                      vm_id=vm_id) == maximum * MB
        assert _value(metrics, "hvdyn_vm_memory_buffer_percent", host=host,
                      vm_id=vm_id) == buffer
    stamp = _value(metrics, "hvdyn_sample_timestamp_seconds", host="hv-obs-01")
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)) == ts
    # two VMs named "dup": counters cannot be attributed, so none are exposed per VM
    assert _value(metrics, "hvdyn_vm_ambiguous_counter_instances", host="hv-obs-01") == 1
    assert not any(dict(k).get("vm") == "dup"
                   for k in metrics["hvdyn_vm_assigned_memory_bytes"])
    assert any(dict(k).get("vm") == "dup" for k in metrics["hvdyn_vm_maximum_memory_bytes"])


def test_every_series_is_documented_and_named_by_convention(tmp_path: Path) -> None:
    code, metrics = _once(OBSERVE / "inventory.yaml", tmp_path / "state",
                          "--policy", str(OBSERVE / "policy.yaml"))
    assert code == 0
    docs = (REPO / "docs" / "metrics.md").read_text()
    assert "hvdyn_audit_findings" in metrics and "hvdyn_vm_drift_settings" in metrics
    unit = re.compile(r"_(bytes|percent|seconds|ratio|total|info|up|enabled|state|weight|"
                      r"findings|success|settings|instances)$")
    for name in metrics:
        assert re.fullmatch(r"hvdyn_[a-z_]+", name), name
        assert f"`{name}`" in docs, f"{name} is not in docs/metrics.md"
        assert unit.search(name), f"{name}: no unit or kind suffix"
        assert "_mb" not in name and "megabytes" not in name


def test_unreachable_host_is_down_and_the_other_served(tmp_path: Path) -> None:
    inventory = _copy_hosts(tmp_path)
    _fault(inventory, "obs-02.yaml")
    code, metrics = _once(inventory, tmp_path / "state")
    assert code == 1
    assert _value(metrics, "hvdyn_up", host="hv-obs-02") == 0
    assert _value(metrics, "hvdyn_up", host="hv-obs-01") == 1
    assert _value(metrics, "hvdyn_collection_failures_total", host="hv-obs-02") == 1
    assert not any(dict(k)["host"] == "hv-obs-02"
                   for k in metrics.get("hvdyn_balancer_available_memory_bytes", {}))


def _exporter(inventory: Path, state: Path, interval_s: float = 60.0,
              wrap: type | None = None) -> tuple[Exporter, list[HostSpec], list[str]]:
    hosts = load_hosts(inventory, None)
    factory = transport_factory(state)
    transport_for = factory if wrap is None else (lambda spec: wrap(spec, factory(spec)))
    log: list[str] = []
    store = open_capturing_store(state)
    exporter = Exporter(hosts, store, transport_for, Schedule(interval_s=interval_s, forks=4),
                        sim_step_s=60, log=log.append)
    return exporter, hosts, log


def _family_values(exporter: Exporter, name: str, host: str) -> list[float]:
    return [s.value for f in families(exporter.views()) for s in f.samples
            if s.name == name and s.labels.get("host") == host]


def test_failed_host_keeps_its_last_values_marked_stale(tmp_path: Path) -> None:
    inventory = _copy_hosts(tmp_path)
    exporter, hosts, log = _exporter(inventory, tmp_path / "state")
    first = exporter.collect_host(hosts[0])
    assert first.up and first.batch is not None
    assigned = _family_values(exporter, "hvdyn_vm_assigned_memory_bytes", hosts[0].name)
    _fault(inventory, "obs-01.yaml")
    second = exporter.collect_host(hosts[0])
    assert not second.up and "unreachable" in (second.error or "")
    assert second.batch == first.batch and second.succeeded_at == first.succeeded_at
    assert _family_values(exporter, "hvdyn_up", hosts[0].name) == [0.0]
    assert _family_values(exporter, "hvdyn_vm_assigned_memory_bytes", hosts[0].name) == assigned
    assert _family_values(exporter, "hvdyn_collection_failures_total", hosts[0].name) == [1.0]
    assert any("hv-obs-01: down: unreachable" in line for line in log), log


class _Gate:
    """Holds scripts on one host until released: a host slower than its interval."""

    release = threading.Event()

    def __init__(self, spec: HostSpec, inner: Transport) -> None:
        self._spec = spec
        self._inner = inner

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        if self._spec.name == "hv-obs-02":
            assert _Gate.release.wait(60)
        return self._inner.run(script, timeout_s=timeout_s)

    def close(self) -> None:
        self._inner.close()


def test_a_slow_host_holds_up_neither_scrapes_nor_other_hosts(tmp_path: Path) -> None:
    exporter, _, _ = _exporter(OBSERVE / "inventory.yaml", tmp_path / "state",
                               interval_s=0.2, wrap=_Gate)
    stop = threading.Event()
    runner = threading.Thread(target=exporter.run, args=(stop,))
    runner.start()
    try:
        def fast_collected() -> bool:
            return exporter.views()[0].collections >= 3
        wait_for("hv-obs-01 to be collected three times", fast_collected, 60)
        started = time.monotonic()
        text = "".join(str(f) for f in families(exporter.views()))
        assert time.monotonic() - started < 1.0 and "hv-obs-01" in text
        slow = exporter.views()[1]
        assert slow.host == "hv-obs-02" and slow.collections == 0 and not slow.up
    finally:
        stop.set()
        _Gate.release.set()
        runner.join(30)
    assert not runner.is_alive()


@pytest.mark.slow
def test_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    proc, address = start_exporter(tmp_path, tmp_path / "state", OBSERVE / "inventory.yaml",
                                   "--interval", "1s")
    wait_for("a collection", lambda: 'hvdyn_up{host="hv-obs-01"} 1.0'
             in http_get(f"http://{address}/metrics"), 60, proc.text)
    started = time.monotonic()
    assert proc.stop(signal.SIGTERM) == 0, proc.text()
    assert time.monotonic() - started < 15
    assert "hvdyn exporter: stopped" in proc.text()


def test_listen_mistakes_exit_3(tmp_path: Path) -> None:
    def run(*args: str) -> tuple[int, str]:
        result = run_cli("exporter", "-i", OBSERVE / "inventory.yaml", "--state-dir", tmp_path,
                         *args, catch_exceptions=True)
        return result.exit_code, result.output
    assert run("--listen", "localhost")[0] == 3
    assert run("--listen", "127.0.0.1:99999")[0] == 3
    assert run("--interval", "0s")[0] == 3
    assert run("-o", str(tmp_path / "m.prom"))[0] == 3  # -o only with --once
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, out = run("--listen", f"127.0.0.1:{taken.getsockname()[1]}")
    assert code == 3 and "--listen" in out and "Traceback" not in out
    assert free_port() > 0


def test_help_does_not_import_prometheus_client() -> None:
    code = ("import sys\nfrom click.testing import CliRunner\nfrom hvdyn.cli.group import cli\n"
            "assert CliRunner().invoke(cli, ['--help']).exit_code == 0\n"
            "print([m for m in sys.modules if m.startswith(('prometheus', 'hvdyn.prometheus'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_schedule_prints_a_service_for_it(tmp_path: Path) -> None:
    result = run_cli("schedule", "--systemd", "--state-dir", tmp_path, "--", "exporter", "-i",
                     OBSERVE / "inventory.yaml", "--listen", ":9868", catch_exceptions=True)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Type=simple" in text and "Restart=on-failure" in text and "[Timer]" not in text
    assert "WantedBy=multi-user.target" in text
    exec_line = next(ln for ln in text.splitlines() if ln.startswith("ExecStart="))
    assert f"exporter -i {(OBSERVE / 'inventory.yaml').absolute()} --listen :9868" in exec_line
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:
        unit = tmp_path / "hvdyn-exporter.service"
        unit.write_text(text)
        check = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    cron = run_cli("schedule", "--cron", "--", "exporter", catch_exceptions=True)
    assert cron.exit_code == 3


def test_policy_gauges_equal_what_hvdyn_audit_finds(tmp_path: Path) -> None:
    state = tmp_path / "state"
    inventory, policy = OBSERVE / "inventory.yaml", OBSERVE / "policy.yaml"
    assert run_cli("collect", "-i", inventory, "--samples", "48", state_dir=state,
                   catch_exceptions=True).exit_code == 0
    code, metrics = _once(inventory, state, "--policy", str(policy))
    assert code == 0
    audit = run_cli("audit", policy, "--format", "json", state_dir=state,
                    catch_exceptions=True)
    found = json.loads(audit.stdout)["findings"]
    expected = Counter((f["host"], f["id"], f["severity"]) for f in found)
    exposed = {tuple(dict(k)[n] for n in ("host", "id", "severity")): v
               for k, v in metrics["hvdyn_audit_findings"].items()}
    assert exposed == {k: float(v) for k, v in expected.items()}
    assert {"HVD110", "HVD111", "HVD120", "HVD130"} <= {i for _, i, _ in exposed}
    drifted = Counter(f["vm_id"].upper() for f in found
                      if f["id"] in ("HVD101", "HVD102") and f.get("vm_id"))
    for key, value in metrics["hvdyn_vm_drift_settings"].items():
        assert value == drifted[dict(key)["vm_id"]], dict(key)
    assert _value(metrics, "hvdyn_host_audit_success", host="hv-obs-02") == 1
