"""ping_host over the real pywinrm client against the fake endpoint."""

from __future__ import annotations

import re
from pathlib import Path

from hvdyn.powershell.records import encode_stream
from hvdyn.run.ping import ping_host, render_ping

from .conftest import context_for, spec_for
from .fake_wsman import FakeWsman, Reply


def _answer(script: str) -> Reply:
    """What a 2008 R2 SP1 host prints for the ping script (delivery echoed from its prologue)."""
    match = re.search(r"^\$HvDelivery = '(\w+)'", script, re.MULTILINE)
    assert match, "the ping script carries its delivery mode as a literal"
    record = {"t": "ping", "ps_version": "2.0", "os": "Microsoft Windows Server 2008 R2 "
              "Enterprise 6.1.7601", "virtualization": True, "delivery": match.group(1)}
    return Reply(stdout=encode_stream("ping", [record]))


def test_ping_reports_ps_version_os_virtualization_delivery(tmp_path: Path) -> None:
    with FakeWsman(_answer) as fake:
        result = ping_host(spec_for(fake), context_for(tmp_path), timeout_s=10)
        expected = render_ping(spec_for(fake), "stdin").text
    assert result.ok, result
    assert (result.ps_version, result.virtualization, result.delivery) == ("2.0", True, "stdin")
    assert result.os is not None and "2008 R2" in result.os
    assert fake.scripts == [expected]
    assert result.requests == 6  # Create, Command, Send, Send (End), Receive, Signal
    assert fake.requests == 7  # + Delete on close


def test_ping_falls_back_to_file_delivery(tmp_path: Path) -> None:
    with FakeWsman(_answer, stdin_broken=True) as fake:
        result = ping_host(spec_for(fake), context_for(tmp_path), timeout_s=20)
    assert result.ok and result.delivery == "file"
    assert any("hvdyn_script_delivery: file" in n for n in result.notes)
    assert any("FromBase64String" in n for n in result.notes)


def test_ping_respects_configured_delivery(tmp_path: Path) -> None:
    with FakeWsman(_answer, stdin_broken=True) as fake:
        result = ping_host(spec_for(fake, hvdyn_script_delivery="stdin"), context_for(tmp_path),
                           timeout_s=10)
    assert not result.ok and result.error_kind == "ProtocolError"


def test_ping_auth_failure_has_hint(tmp_path: Path) -> None:
    with FakeWsman(_answer) as fake:
        result = ping_host(spec_for(fake), context_for(tmp_path, password="bad"), timeout_s=10)
    assert not result.ok and result.error_kind == "AuthError"
    assert result.hint and "password" in result.hint
    assert "bad" not in (result.error or "") + (result.hint or "")
    assert result.as_dict()["ok"] is False


def test_ping_template_parses_as_powershell() -> None:
    import tree_sitter as ts
    import tree_sitter_powershell as tsp

    parser = ts.Parser(ts.Language(tsp.language()))
    spec_text = render_ping(
        __import__("hvdyn.core.model", fromlist=["HostSpec"]).HostSpec(name="hv’01", address="x"),
        "stdin",
    ).text
    assert "$HvTarget = ('hv' + [char]0x2019 + '01')" in spec_text
    from hvdyn.transport._assets import FILE_DECODER, STDIN_BOOTSTRAP, read_asset

    for text in (spec_text, read_asset(STDIN_BOOTSTRAP), read_asset(FILE_DECODER)):
        tree = parser.parse(text.encode("utf-8"))
        assert not tree.root_node.has_error
