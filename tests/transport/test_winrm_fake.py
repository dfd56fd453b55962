"""WinrmTransport with the unmodified pywinrm client against the fake endpoint."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hvdyn.core.errors import AuthError, ConnectError, CredentialError, TransportTimeout
from hvdyn.core.model import Script
from hvdyn.powershell.record_parser import parse_stream
from hvdyn.powershell.records import encode_stream
from hvdyn.transport.winrm import WinrmTransport, stdin_chunk_bytes

from .conftest import context_for, spec_for
from .fake_wsman import FakeWsman, Reply


def _script(text: str, name: str = "discover") -> Script:
    return Script(name=name, params={}, text=text)


def _big_script(size: int) -> str:
    # Lines like a rendered template, with non-ASCII and quote characters mixed in.
    line = "$x = 'Grüße – ’quoted’ テスト'; # padding {n}\r\n"
    out: list[str] = []
    n = 0
    while sum(map(len, out)) < size:
        out.append(line.format(n=n))
        n += 1
    return "".join(out)[:size]


def test_60kb_script_arrives_byte_exact_in_one_shell(tmp_path: Path, fake: FakeWsman) -> None:
    """A 60 KB script goes over stdin in envelope-sized chunks and arrives unchanged."""
    text = _big_script(60 * 1024)
    fake.handler = lambda script: Reply(stdout=encode_stream("discover", []))
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
    try:
        result = transport.run(_script(text), timeout_s=20)
    finally:
        transport.close()
    assert fake.scripts == [text]
    assert fake.scripts[0].encode("utf-8") == text.encode("utf-8")
    assert result.rc == 0
    parse_stream(result.stdout, host="hv-fake", script="discover")
    assert fake.largest_request <= 153600
    # The command line is the short bootstrap, far below cmd.exe's 8191 characters.
    assert all(len(line) < 2000 for line in fake.command_lines)
    # Create, Command, Send (data), Send (End), Receive, Signal (+ Delete on close).
    assert fake.actions["Send"] == 2
    assert result.requests == 6
    assert fake.requests == 7


def test_request_counts_per_script_in_a_reused_shell(tmp_path: Path, fake: FakeWsman) -> None:
    """Later scripts in the same shell cost Command + Send(s) + Receive + Signal."""
    fake.handler = lambda script: Reply(stdout="ok\r\n")
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
    counts = [transport.run(_script("'x'" * n), timeout_s=10).requests for n in (1, 10, 100)]
    big = transport.run(_script("#" * 300_000), timeout_s=20)
    transport.close()
    assert counts == [6, 5, 5]
    chunk = stdin_chunk_bytes(150 * 1024)
    sends = -(-(400_000 + 2) // chunk)  # base64 of 300,000 bytes + CRLF
    assert big.requests == 3 + sends + 1  # + the End Send
    assert fake.actions["Create"] == 1
    assert fake.connections == 1
    assert fake.requests == sum(counts) + big.requests + 1
    assert fake.largest_request <= 153600


def test_non_ascii_vm_name_round_trips(tmp_path: Path, fake: FakeWsman) -> None:
    """A VM name outside ASCII reaches the host intact and comes back through a record."""
    name = "Prüf-VM ÆØÅ 東京 ’01’ 😀"
    vm_id = "11111111-2222-3333-4444-555555555555"

    def handler(script: str) -> Reply:
        assert name in script
        record = {"t": "error", "id": vm_id, "message": f"seen {name}", "code": None}
        return Reply(stdout=encode_stream("discover", [record]))

    fake.handler = handler
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
    result = transport.run(_script(f"$name = '{name}'\r\n"), timeout_s=10)
    transport.close()
    assert result.stdout.isascii()  # records are ASCII JSON on the wire
    parsed = parse_stream(result.stdout, host="hv-fake", script="discover")
    assert parsed.script_errors == []
    assert parsed.records[0].message == f"seen {name}"  # type: ignore[union-attr]


def test_utf8_stdout_with_codepage_65001(tmp_path: Path, fake: FakeWsman) -> None:
    fake.handler = lambda script: Reply(stdout="Grüße 東京\r\n")
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
    assert transport.run(_script("x"), timeout_s=10).stdout == "Grüße 東京\r\n"
    transport.close()


def test_output_split_over_several_receives(tmp_path: Path) -> None:
    stream = encode_stream("discover", [{"t": "error", "id": None, "message": "m" * 50,
                                         "code": 1}] * 40)
    with FakeWsman(lambda s: Reply(stdout=stream, rc=3), receive_chunk=500) as fake:
        transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
        result = transport.run(_script("x"), timeout_s=10)
        transport.close()
    assert result.stdout == stream and result.rc == 3
    assert fake.actions["Receive"] == -(-len(stream) // 500)


def test_slow_script_survives_operation_timeouts(tmp_path: Path, fake: FakeWsman) -> None:
    """The host holds each Receive for OperationTimeout (1 s here); we ask again."""
    fake.handler = lambda script: Reply(stdout="done\r\n", delay_s=2.5)
    transport = WinrmTransport(spec_for(fake, hvdyn_operation_timeout_s=1), context_for(tmp_path))
    result = transport.run(_script("x"), timeout_s=15)
    transport.close()
    assert result.stdout == "done\r\n"
    assert fake.actions["Receive"] >= 3


def test_deadline_fires_and_terminates(tmp_path: Path, fake: FakeWsman) -> None:
    fake.handler = lambda script: Reply(stdout="late\r\n", delay_s=30)
    transport = WinrmTransport(spec_for(fake, hvdyn_operation_timeout_s=1), context_for(tmp_path))
    started = time.monotonic()
    with pytest.raises(TransportTimeout, match="deadline"):
        transport.run(_script("x"), timeout_s=2)
    assert time.monotonic() - started < 4
    assert fake.actions["Signal"] == 1 and fake.terminated == 1
    # The shell stays usable after a terminated command.
    fake.handler = lambda script: Reply(stdout="again\r\n")
    assert transport.run(_script("y"), timeout_s=5).stdout == "again\r\n"
    transport.close()


def test_quota_fault_recreates_the_shell(tmp_path: Path) -> None:
    with FakeWsman(lambda s: Reply(stdout="ok\r\n"), quota_after=2) as fake:
        transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
        results = [transport.run(_script(f"'{n}'"), timeout_s=10) for n in range(5)]
        transport.close()
    assert [r.stdout for r in results] == ["ok\r\n"] * 5
    assert fake.actions["Create"] == 3  # 2 commands per shell
    assert transport.shells_opened == 3
    assert len(fake.scripts) == 5  # each script ran exactly once


def test_shell_dropped_by_host_is_recreated(tmp_path: Path, fake: FakeWsman) -> None:
    fake.handler = lambda script: Reply(stdout="ok\r\n")
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
    transport.run(_script("a"), timeout_s=10)
    fake.drop_shells()  # IdleTimeout reaped it
    assert transport.run(_script("b"), timeout_s=10).stdout == "ok\r\n"
    transport.close()
    assert fake.actions["Create"] == 2
    assert fake.scripts == ["a", "b"]


def test_send_timeout_runs_the_script_again_in_a_new_shell(tmp_path: Path) -> None:
    """A timed-out Send is never sent again: the shell is dropped, the script re-run."""
    with FakeWsman(lambda s: Reply(stdout="ok\r\n"), send_timeouts=2) as fake:
        transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
        result = transport.run(_script("x" * 1000), timeout_s=10)
        transport.close()
    assert result.stdout == "ok\r\n"
    assert fake.actions["Send"] == 2 + 2  # two timed-out data Sends, then data + End
    assert fake.actions["Create"] == 3
    assert fake.scripts == ["x" * 1000]


def test_wrong_password_is_auth_error(tmp_path: Path, fake: FakeWsman) -> None:
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path, password="wrong"))
    with pytest.raises(AuthError) as info:
        transport.run(_script("x"), timeout_s=5)
    message = str(info.value)
    assert "wrong" not in message
    assert "$HVDYN_TEST_FAKE_PASSWORD" in message and "hvadmin" in message


def test_missing_password_is_credential_error(tmp_path: Path, fake: FakeWsman) -> None:
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path, password=None))
    with pytest.raises(CredentialError, match="HVDYN_TEST_FAKE_PASSWORD"):
        transport.run(_script("x"), timeout_s=5)


def test_connection_refused_hints_quickconfig(tmp_path: Path) -> None:
    fake = FakeWsman().start()
    spec = spec_for(fake)
    fake.stop()
    transport = WinrmTransport(spec, context_for(tmp_path))
    with pytest.raises(ConnectError, match="winrm quickconfig"):
        transport.run(_script("x"), timeout_s=5)


def test_stderr_clixml_keeps_errors_only(tmp_path: Path, fake: FakeWsman) -> None:
    clixml = (
        "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/"
        "2004/04\"><Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation"
        ".PSCustomObject</T></TN><MS><I64 N=\"SourceId\">1</I64></MS></Obj>"
        "<S S=\"Error\">boom &lt;bad&gt;_x000D__x000A_</S><S S=\"Warning\">careful</S>"
        "<S S=\"Error\">tab_x0009_end 😀_xD83D__xDE00__x000D__x000A_</S></Objs>"
    )
    fake.handler = lambda script: Reply(stderr=clixml, rc=1)
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
    result = transport.run(_script("x"), timeout_s=5)
    transport.close()
    assert result.rc == 1
    assert result.stderr == "boom <bad>\r\ntab\tend 😀😀\r\n"


def test_file_delivery_mode(tmp_path: Path, fake: FakeWsman) -> None:
    """hvdyn_script_delivery: file uploads with short cmd.exe lines, runs -File, cleans up."""
    text = _big_script(20 * 1024)
    fake.handler = lambda script: Reply(stdout=encode_stream("discover", []), rc=0)
    transport = WinrmTransport(spec_for(fake, hvdyn_script_delivery="file"), context_for(tmp_path))
    result = transport.run(_script(text), timeout_s=20)
    transport.close()
    assert fake.scripts == [text]
    assert result.rc == 0
    assert all(len(line) <= 8191 for line in fake.command_lines)
    assert any("-File script.ps1" in line for line in fake.command_lines)
    assert fake.files == {} and fake.dirs == set()  # removed afterwards
    b64_len = -(-len(text.encode("utf-8")) // 3) * 4
    echoes = -(-b64_len // 7000)
    # per command Command+Receive+Signal; the run adds one Send (End=true); Create once.
    assert result.requests == 1 + 3 * echoes + 4 + 3


def test_cmd_line_limit_is_modelled(tmp_path: Path, fake: FakeWsman) -> None:
    """What run_ps-style delivery would hit: the fake refuses lines over 8191 chars."""
    transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
    rc, _out, err = transport._command("echo " + "x" * 8200, (), None, time.monotonic() + 5, "t")
    transport.close()
    assert rc == 1 and b"too long" in err
