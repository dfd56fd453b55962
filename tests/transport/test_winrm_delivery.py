"""WinRM delivery on a host that accepts a Send and still times out, and cmd.exe handles."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from hvdyn.core.model import Script
from hvdyn.transport.winrm import CMD_LINE_CHUNK, WinrmTransport

from .conftest import context_for, spec_for
from .fake_wsman import NS, OPERATION_TIMEOUT, FakeWsman, Reply, _Fault


class AcceptingTimeouts(FakeWsman):
    """Takes the Send's data, then answers w:TimedOut (a slow host may do just that)."""

    def __init__(self, *args: Any, end_only: bool = False, times: int = 1, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.end_only = end_only
        self.times = times

    def _send(self, body: ET.Element, shell: Any) -> str:
        answer = super()._send(body, shell)
        stream = body.find("rsp:Send/rsp:Stream", NS)
        is_end = stream is not None and (stream.get("End") or "").lower() == "true"
        if self.times > 0 and is_end == self.end_only:
            self.times -= 1
            raise _Fault(OPERATION_TIMEOUT, "The WS-Management service cannot complete the"
                         " operation within the time specified in OperationTimeout.", "w:TimedOut")
        return answer


def _script(text: str) -> Script:
    return Script(name="discover", params={}, text=text)


def test_accepted_data_send_that_timed_out_is_not_sent_twice(tmp_path: Path) -> None:
    text = "'data'\r\n" * 10
    with AcceptingTimeouts(lambda s: Reply(stdout="ok\r\n")) as fake:
        transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
        result = transport.run(_script(text), timeout_s=10)
        transport.close()
    # The first shell got the data once and was dropped before its end of input:
    # the script ran exactly once, from the second shell, byte for byte.
    assert result.stdout == "ok\r\n" and fake.scripts == [text]
    assert fake.actions["Create"] == 2


def test_end_of_input_send_that_timed_out_is_not_repeated(tmp_path: Path) -> None:
    with AcceptingTimeouts(lambda s: Reply(stdout="ran\r\n"), end_only=True) as fake:
        transport = WinrmTransport(spec_for(fake), context_for(tmp_path))
        result = transport.run(_script("'x'"), timeout_s=10)
        transport.close()
    assert result.stdout == "ran\r\n" and fake.scripts == ["'x'"]
    assert fake.actions["Send"] == 2 and fake.actions["Create"] == 1


def _text_whose_base64_chunk_ends_in_a_digit() -> str:
    for n in range(1, 400):
        text = "$a = 1\r\n# " + "x" * n  # 'x' is 0x78: its low 6 bits, 56, encode as '4'
        b64 = base64.b64encode(text.encode("utf-8")).decode()
        if len(b64) < CMD_LINE_CHUNK and b64[-1].isdigit():
            return text
    raise AssertionError("no candidate")


def test_file_delivery_chunk_ending_in_a_digit_is_not_a_handle(
    tmp_path: Path, fake: FakeWsman
) -> None:
    text = _text_whose_base64_chunk_ends_in_a_digit()
    fake.handler = lambda script: Reply(stdout="ok\r\n")
    transport = WinrmTransport(spec_for(fake, hvdyn_script_delivery="file"), context_for(tmp_path))
    result = transport.run(_script(text), timeout_s=10)
    transport.close()
    assert fake.scripts == [text] and result.stdout == "ok\r\n"
    assert all(line.startswith(("mkdir", "(echo", "cd /d", "rmdir")) for line in
               fake.command_lines if "echo" in line or "mkdir" in line)
