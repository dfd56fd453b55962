"""--prometheus-url mistakes give messages and exit codes, never tracebacks; labels survive
the text format whatever the names hold."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from hvdyn.history.prometheus_source import promql_string
from hvdyn.history.rows import SampleRow, VmSettingsRow
from hvdyn.prometheus.exporter import HostBatch, HostView
from hvdyn.prometheus.expose import ViewsCollector
from tests.runner import run_cli

from .servers import free_port


def _recommend(*args: str) -> tuple[int, str]:
    result = run_cli("recommend", *args, catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_nothing_listening_exits_1_with_the_reason() -> None:
    code, out = _recommend("--prometheus-url", f"http://127.0.0.1:{free_port()}")
    assert code == 1 and "prometheus http://127.0.0.1:" in out and "refused" in out.lower()


def test_a_url_that_is_not_prometheus_exits_1() -> None:
    server, _ = start_http_server(free_port(), addr="127.0.0.1",
                                       registry=CollectorRegistry())
    try:
        port = server.server_address[1]
        code, out = _recommend("--prometheus-url", f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1 and "not JSON" in out


def test_a_malformed_url_exits_3(tmp_path: Path) -> None:
    for url in ("127.0.0.1:9090", "ftp://x", "http://"):
        code, out = _recommend("--prometheus-url", url)
        assert code == 3 and "--prometheus-url" in out, (url, out)


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(host=names, vm=names, os_name=st.one_of(st.none(), names))
def test_labels_round_trip_through_the_text_format(host: str, vm: str,
                                                   os_name: str | None) -> None:
    vm_id = "0A000001-0000-4000-8000-000000000001"
    batch = HostBatch(
        samples=(SampleRow(host=host, vm_id=vm_id, vm_name=vm, ts="2026-01-05T00:00:00Z",
                           physical_mb=1024, average_pressure=80),),
        balancer=(), memory=None,
        settings=(VmSettingsRow(host=host, vm_id=vm_id, vm_name=vm, ts="2026-01-05T00:00:00Z",
                                state=2, dynamic=True, startup_mb=512, minimum_mb=512,
                                maximum_mb=2048, buffer=20, weight=5000, os=os_name),))
    view = HostView(host=host, batch=batch, up=True)
    registry = CollectorRegistry()
    registry.register(ViewsCollector(lambda: [view]))
    text = generate_latest(registry).decode()
    parsed = {f.name: f.samples for f in text_string_to_metric_families(text)}
    (assigned,) = parsed["hvdyn_vm_assigned_memory_bytes"]
    assert assigned.labels == {"host": host, "vm": vm, "vm_id": vm_id}
    assert assigned.value == 1024 * 1024 * 1024
    (info,) = parsed["hvdyn_vm_info"]
    assert info.labels["os"] == (os_name or "")


@given(names)
def test_promql_strings_escape_quotes_backslashes_and_newlines(value: str) -> None:
    literal = promql_string(value)
    assert literal.startswith('"') and literal.endswith('"')
    body = literal[1:-1]
    # every quote in the body is escaped; unescaping gives the value back
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append({"n": "\n", "\\": "\\", '"': '"'}[body[i + 1]])
            i += 2
        else:
            assert body[i] != '"'
            out.append(body[i])
            i += 1
    assert "".join(out) == value

