"""A connection lost mid-script: pywinrm and pypsrp hand back the output received before it.

The fake endpoint serves the first lines of a script's output, then closes the
connection on the next Receive without an answer (`Reply.drop_after`). The
transport's error carries those lines (`TransportError.partial_stdout`), and
the apply stage's salvage reads the records in them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hvdyn.core.errors import TransportError
from hvdyn.core.model import HostSpec, Script
from hvdyn.powershell.records import ResultRecord, encode_stream
from hvdyn.run.executor import salvage
from hvdyn.transport.psrp import PsrpTransport
from hvdyn.transport.winrm import WinrmTransport

from .conftest import context_for, spec_for
from .fake_wsman import FakeWsman, Reply

TRANSPORTS: dict[str, Any] = {"winrm": WinrmTransport, "psrp": PsrpTransport}
GUIDS = [f"{n:08X}-0000-0000-0000-000000000000" for n in range(1, 5)]


def _result(guid: str) -> dict[str, Any]:
    settings = {"dynamic": True, "startup_mb": 1024, "minimum_mb": 512, "maximum_mb": 4096,
                "buffer": 20, "weight": 5000}
    return {"t": "result", "id": guid, "outcome": "applied", "code": None, "message": None,
            "state": 2, "restarted": False, "settings": settings}


@pytest.mark.parametrize("name", TRANSPORTS)
def test_the_lines_received_before_a_drop_come_with_the_error(
    name: str, fake: FakeWsman, tmp_path: Path
) -> None:
    stdout = encode_stream("apply", [_result(g) for g in GUIDS])
    fake.handler = lambda text: Reply(stdout=stdout, drop_after=3)  # begin + two results
    transport = TRANSPORTS[name](spec_for(fake), context_for(tmp_path))
    script = Script(name="apply", params={}, text="'apply'")
    try:
        with pytest.raises(TransportError) as info:
            transport.run(script, timeout_s=20)
    finally:
        transport.close()
    received = "".join(stdout.splitlines(keepends=True)[:3])
    assert info.value.partial_stdout == received

    parsed = salvage(info.value, HostSpec(name="hv-fake", address="127.0.0.1"), script)
    assert parsed is not None
    assert [r.id for r in parsed.of_type(ResultRecord)] == GUIDS[:2]


@pytest.mark.parametrize("name", TRANSPORTS)
def test_a_failure_before_any_output_has_none(name: str, tmp_path: Path) -> None:
    with FakeWsman() as fake:
        spec = spec_for(fake)
    transport = TRANSPORTS[name](spec, context_for(tmp_path))  # nothing listens there now
    try:
        with pytest.raises(TransportError) as info:
            transport.run(Script(name="apply", params={}, text="'apply'"), timeout_s=5)
    finally:
        transport.close()
    assert info.value.partial_stdout == ""
