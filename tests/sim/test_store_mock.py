"""Persistence in the state dir, reset, and the mock transport's record stream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hvdyn.core.errors import ConnectError, TransportTimeout
from hvdyn.core.model import HostSpec, Script
from hvdyn.powershell import records as protocol
from hvdyn.powershell.record_parser import parse_stream
from hvdyn.sim import load_state, reset, session, state_path
from hvdyn.transport import TransportContext, transport_class
from hvdyn.transport.mock import MockTransport


def spec_for(path: Path, name: str = "hv-test") -> HostSpec:
    return HostSpec(name=name, address=name, transport="mock", mock_fixture=str(path))


def script(name: str, params: dict[str, object]) -> Script:
    return Script(name=name, params=params, text="# never read by the mock transport")


def test_state_persists_and_resets(tmp_path: Path, small_path: Path) -> None:
    state_dir = tmp_path / "state"
    with session(state_dir, "hv-test", small_path) as host:
        host.vms[0].memory.buffer = 77
    path = state_path(state_dir, "hv-test", small_path)
    assert path.parent == state_dir / "sim" and path.name.startswith("hv-test-")
    assert json.loads(path.read_text())["vms"][0]["memory"]["buffer"] == 77
    assert load_state(state_dir, "hv-test", small_path).vms[0].memory.buffer == 77
    assert not list(path.parent.glob("*.tmp"))
    reset(state_dir, [spec_for(small_path)])
    assert load_state(state_dir, "hv-test", small_path).vms[0].memory.buffer == 20
    assert reset(state_dir) == [path] and not path.exists()


def test_changed_fixture_wins(tmp_path: Path, small_path: Path) -> None:
    with session(tmp_path, "h", small_path) as host:
        host.vms[0].memory.buffer = 77
    small_path.write_text(small_path.read_text().replace("buffer: 20", "buffer: 30"))
    assert load_state(tmp_path, "h", small_path).vms[0].memory.buffer == 30


def test_same_host_name_different_fixture_is_separate(tmp_path: Path, small_path: Path) -> None:
    other = tmp_path / "other" / "host.yaml"
    other.parent.mkdir()
    other.write_text(small_path.read_text())
    assert state_path(tmp_path, "h", small_path) != state_path(tmp_path, "h", other)


def test_mock_transport_stream_parses(tmp_path: Path, small_path: Path) -> None:
    cls = transport_class("mock")
    transport = cls(spec_for(small_path), TransportContext(state_dir=tmp_path))
    result = transport.run(script("discover", {"host": "hv-test"}), timeout_s=60)
    assert result.rc == 0
    parsed = parse_stream(result.stdout, host="hv-test", script="discover")
    assert len(parsed.of_type(protocol.VmRecord)) == 5
    assert parsed.of_type(protocol.HostRecord)[0].total_mb == 16384
    collected = transport.run(script("collect", {"host": "hv-test", "samples": 2,
                                                 "interval_s": 5}), timeout_s=60)
    out = parse_stream(collected.stdout, host="hv-test", script="collect")
    assert len(out.of_type(protocol.BalancerRecord)) == 2
    transport.close()


def test_mock_apply_then_discover_sees_change(tmp_path: Path, small_path: Path) -> None:
    ctx = TransportContext(state_dir=tmp_path)
    first = MockTransport(spec_for(small_path), ctx)
    vms = parse_stream(first.run(script("discover", {"host": "h"}), timeout_s=9).stdout,
                       host="h", script="discover").of_type(protocol.VmRecord)
    dm = next(v for v in vms if v.name == "dm-vm")
    expect = dm.settings.as_dict()
    target = dict(expect, maximum_mb=8192)
    params = {"host": "h", "job_timeout_s": 300, "shutdown_timeout_s": 600,
              "start_timeout_s": 300, "force_off": False,
              "vms": [{"id": dm.id, "name": dm.name, "expect_state": dm.state, "expect": expect,
                       "target": target, "offline": True, "restart": True}]}
    out = first.run(script("apply", params), timeout_s=3600)
    results = parse_stream(out.stdout, host="h", script="apply").of_type(protocol.ResultRecord)
    assert results[0].outcome == "applied" and results[0].restarted
    second = MockTransport(spec_for(small_path), ctx)  # a new process would see the same
    again = parse_stream(second.run(script("discover", {"host": "h"}), timeout_s=9)
                         .stdout, host="h", script="discover")
    assert next(v for v in again.of_type(protocol.VmRecord) if v.id == dm.id).settings.maximum_mb \
        == 8192


def test_hostile_names_survive_the_wire(tmp_path: Path, write_fixture) -> None:  # type: ignore[no-untyped-def]
    name = "O'Brien\u2019s $(calc) B\u00fcro \"x\""
    fixture = write_fixture(f"host: {{memory: 8GB}}\nvms:\n  - name: {json.dumps(name)}\n"
                            "    memory: {startup: 1GB}\n")
    transport = MockTransport(spec_for(fixture), TransportContext(state_dir=tmp_path))
    stdout = transport.run(script("discover", {"host": "h"}), timeout_s=9).stdout
    assert stdout.isascii()
    vms = parse_stream(stdout, host="h", script="discover").of_type(protocol.VmRecord)
    assert vms[0].name == name


def test_connect_fault_raises(tmp_path: Path, write_fixture) -> None:  # type: ignore[no-untyped-def]
    fixture = write_fixture("host: {memory: 8GB}\nfaults:\n  - {op: connect, error: unreachable,"
                            " times: 1}\n")
    transport = MockTransport(spec_for(fixture), TransportContext(state_dir=tmp_path))
    with pytest.raises(ConnectError):
        transport.run(script("discover", {"host": "h"}), timeout_s=9)
    assert transport.run(script("discover", {"host": "h"}), timeout_s=9).rc == 0


def test_simulated_time_counts_against_timeout(tmp_path: Path, small_path: Path) -> None:
    transport = MockTransport(spec_for(small_path), TransportContext(state_dir=tmp_path))
    with pytest.raises(TransportTimeout):
        transport.run(script("collect", {"host": "h", "samples": 10, "interval_s": 60}),
                      timeout_s=300)
