"""PsrpTransport over the unmodified pypsrp client against the fake's PSRP layer.

Every test goes through pypsrp's WSMan/RunspacePool/PowerShell over HTTP on
127.0.0.1 to `fake_psrp.FakePsrp`, which answers like a PowerShell 2.0 host
(protocol 2.1). Over the wire, per transport:

- open (first script): Create (creationXml: SESSION_CAPABILITY +
  INIT_RUNSPACEPOOL) and one pool Receive (SESSION_CAPABILITY,
  APPLICATION_PRIVATE_DATA, RUNSPACEPOOL_STATE Opened);
- each script: Command (CREATE_PIPELINE in its Arguments), then Receive
  until CommandState Done (PIPELINE_OUTPUT..., ERROR_RECORD...,
  PIPELINE_HOST_CALL SetShouldExit, PIPELINE_STATE Completed);
- close: Delete.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hvdyn.core.errors import TransportTimeout
from hvdyn.core.model import Script
from hvdyn.powershell.record_parser import parse_stream
from hvdyn.powershell.records import VmRecord, encode_stream
from hvdyn.sim import load_fixture, run_script
from hvdyn.transport.psrp import PsrpTransport

from .conftest import context_for, spec_for
from .fake_psrp import PsReply
from .fake_wsman import FakeWsman, Reply

REPO = Path(__file__).resolve().parents[2]
VM_NAME = "VM-Ünïcode-ß-日本"


class Scripts:
    """The fake's "PowerShell": answers by script text."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply | PsReply] = {}

    def __call__(self, text: str) -> Reply | PsReply:
        return self.replies.get(text, PsReply(errors=["no such script"], exit_code=1))


@pytest.fixture
def scripts() -> Scripts:
    return Scripts()


@pytest.fixture
def psrp_fake(scripts: Scripts) -> Iterator[FakeWsman]:
    with FakeWsman(handler=scripts) as server:
        yield server


@pytest.fixture
def transport(psrp_fake: FakeWsman, tmp_path: Path) -> Iterator[PsrpTransport]:
    t = PsrpTransport(spec_for(psrp_fake), context_for(tmp_path))
    yield t
    t.close()


def _discover_records() -> list[Any]:
    state = load_fixture(REPO / "inventories" / "lab" / "hv-srv-01.yaml", default_name="hv-srv-01")
    records: list[Any] = [dict(r) for r in run_script(state, "discover", {"host": "hv-srv-01"})]
    vm = next(r for r in records if r["t"] == "vm")
    vm["name"] = VM_NAME
    return records


def test_open_run_and_records_round_trip(
    psrp_fake: FakeWsman, scripts: Scripts, transport: PsrpTransport
) -> None:
    script = Script(name="discover", params={}, text=f"$HvScript = 'discover'\r\n'{VM_NAME}'")
    records = _discover_records()
    scripts.replies[script.text] = Reply(stdout=encode_stream("discover", records), rc=0)

    result = transport.run(script, timeout_s=10)

    assert (result.rc, result.stderr) == (0, "")
    parsed = parse_stream(result.stdout, host="hv-fake", script="discover")
    assert len(parsed.records) == len(records)
    assert VM_NAME in [vm.name for vm in parsed.of_type(VmRecord)]
    # the script text arrived byte for byte in CREATE_PIPELINE, non-ASCII included
    assert psrp_fake.scripts == [script.text]
    # protocol: the client offered 2.3, the "PowerShell 2.0" host answered 2.1
    assert psrp_fake.psrp.client_protocols == ["2.3"]
    assert transport._pool.protocol_version == "2.1"
    assert transport._pool.ps_version == "2.0"
    assert psrp_fake.psrp.received == {
        "SESSION_CAPABILITY": 1, "INIT_RUNSPACEPOOL": 1, "CREATE_PIPELINE": 1
    }
    assert psrp_fake.psrp.sent["PIPELINE_OUTPUT"] == len(records) + 2  # + begin, end
    assert psrp_fake.psrp.sent["PIPELINE_HOST_CALL"] == 1  # SetShouldExit(0)
    # open: Create + Receive; the script: Command + Receive
    assert dict(psrp_fake.actions) == {"Create": 1, "Receive": 2, "Command": 1}
    assert result.requests == 4 == psrp_fake.requests


def test_non_ascii_output_line_round_trips(scripts: Scripts, transport: PsrpTransport) -> None:
    script = Script(name="discover", params={}, text=f"Write-Output '{VM_NAME}'")
    scripts.replies[script.text] = PsReply(output=[VM_NAME, "zwei"])
    result = transport.run(script, timeout_s=10)
    assert result.stdout == f"{VM_NAME}\r\nzwei\r\n"
    assert result.rc == 0  # no `exit`, no error record


def test_exit_code_comes_back_through_set_should_exit(
    psrp_fake: FakeWsman, scripts: Scripts, transport: PsrpTransport
) -> None:
    script = Script(name="apply", params={}, text="'partial'\r\nexit 3")
    scripts.replies[script.text] = PsReply(output=["partial"], exit_code=3)
    result = transport.run(script, timeout_s=10)
    assert (result.rc, result.stdout, result.stderr) == (3, "partial\r\n", "")
    assert psrp_fake.psrp.sent["PIPELINE_HOST_CALL"] == 1
    assert psrp_fake.psrp.sent["PIPELINE_STATE"] == 1  # Completed, not Failed
    assert psrp_fake.psrp.received["PIPELINE_HOST_RESPONSE"] == 0  # a void host method


def test_error_record_becomes_stderr_text(scripts: Scripts, transport: PsrpTransport) -> None:
    script = Script(name="apply", params={}, text="Write-Error 'boom <bad>'")
    scripts.replies[script.text] = PsReply(errors=["boom <bad>"])
    result = transport.run(script, timeout_s=10)
    assert result.rc == 1  # no `exit`, but the error stream had a record
    assert result.stderr.split("\r\n")[0] == "boom <bad>"
    assert "+ Write-Error <<<< 'boom <bad>'" in result.stderr
    assert result.stderr.endswith(
        "    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException\r\n"
    )
    # an `exit 0` after Write-Error still wins over had_errors
    again = Script(name="apply", params={}, text="Write-Error 'soft'; exit 0")
    scripts.replies[again.text] = PsReply(errors=["soft"], exit_code=0)
    assert transport.run(again, timeout_s=10).rc == 0


def test_pool_reused_and_requests_per_script(
    psrp_fake: FakeWsman, scripts: Scripts, transport: PsrpTransport
) -> None:
    texts = [f"'script {i}'" for i in range(3)]
    for text in texts:
        scripts.replies[text] = PsReply(output=[text], exit_code=0)
    requests = [transport.run(Script(name="ping", params={}, text=t), timeout_s=10).requests
                for t in texts]
    assert requests == [4, 2, 2]  # open (Create + Receive) once, then Command + Receive
    assert psrp_fake.actions["Create"] == 1 and transport.pools_opened == 1
    assert psrp_fake.psrp.pipelines_created == 3
    assert psrp_fake.psrp.signals == {}  # psrp.py never closes a finished pipeline
    transport.close()
    assert psrp_fake.actions["Delete"] == 1 and psrp_fake.psrp.pools_closed == 1
    assert psrp_fake.requests == 4 + 2 + 2 + 1


def test_output_over_several_receives(
    psrp_fake: FakeWsman, scripts: Scripts, transport: PsrpTransport
) -> None:
    psrp_fake.psrp.messages_per_receive = 2
    script = Script(name="discover", params={}, text="1..5")
    scripts.replies[script.text] = PsReply(output=[str(i) for i in range(1, 6)], exit_code=0)
    result = transport.run(script, timeout_s=10)
    assert result.stdout == "1\r\n2\r\n3\r\n4\r\n5\r\n" and result.rc == 0
    # 3 pool messages -> 2 Receives to open; 5 outputs + host call + state -> 4 Receives
    assert psrp_fake.actions["Receive"] == 2 + 4
    assert result.requests == 1 + 2 + 1 + 4


def test_large_script_is_fragmented_over_command_and_sends(
    psrp_fake: FakeWsman, scripts: Scripts, transport: PsrpTransport
) -> None:
    text = "# " + "x" * 400_000 + f"\r\n'{VM_NAME}'"  # far over the 150 KiB envelope
    scripts.replies[text] = PsReply(output=[VM_NAME], exit_code=0)
    result = transport.run(Script(name="apply", params={}, text=text), timeout_s=10)
    assert (result.rc, result.stdout) == (0, f"{VM_NAME}\r\n")
    assert psrp_fake.scripts == [text]
    assert psrp_fake.actions["Command"] == 1 and psrp_fake.actions["Send"] >= 3
    assert psrp_fake.largest_request <= 153600


def test_deadline_stops_the_pipeline_and_recycles_the_pool(
    psrp_fake: FakeWsman, scripts: Scripts, transport: PsrpTransport
) -> None:
    slow = Script(name="apply", params={}, text="Start-Sleep 60")
    scripts.replies[slow.text] = PsReply(output=["late"], exit_code=0, delay_s=30)
    with pytest.raises(TransportTimeout, match="deadline"):
        transport.run(slow, timeout_s=1)
    assert psrp_fake.psrp.signals == {"ps_ctrl_c": 1}
    assert psrp_fake.actions["Delete"] == 1  # pool recycled
    fast = Script(name="ping", params={}, text="'ok'")
    scripts.replies[fast.text] = PsReply(output=["ok"], exit_code=0)
    assert transport.run(fast, timeout_s=10).stdout == "ok\r\n"
    assert psrp_fake.actions["Create"] == 2 and transport.pools_opened == 2
