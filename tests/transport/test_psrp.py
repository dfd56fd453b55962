"""PsrpTransport: unit level with stand-ins for pypsrp's pool, plus real-pypsrp error paths.

Full runs of the unmodified pypsrp against the fake endpoint's PSRP layer
are in test_psrp_fake.py; here: connection, Basic auth (401), TLS 1.0 opt-in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from pypsrp.complex_objects import PSInvocationState

from hvdyn.core.errors import AuthError, ConnectError, TlsError, TransportTimeout
from hvdyn.core.model import Script
from hvdyn.transport import psrp as psrp_module
from hvdyn.transport.psrp import PsrpTransport

from .conftest import context_for, spec_for
from .fake_wsman import FakeWsman
from .test_tls_and_imports import tls10  # noqa: F401  (fixture)

SCRIPT = Script(name="discover", params={}, text="'x'")


class _Streams:
    def __init__(self, errors: list[Any]) -> None:
        self.error = errors


class _Error:
    def __init__(self, text: str) -> None:
        self.text = text
        self.fq_error = "RuntimeException"
        self.invocation_position_message = "At line:1 char:6"

    def __str__(self) -> str:
        return self.text


class _Pool:
    opened = 0
    closed = 0

    def __init__(self, wsman: Any, host: Any) -> None:
        self.host = host

    def open(self) -> None:
        _Pool.opened += 1

    def close(self) -> None:
        _Pool.closed += 1


class _PowerShell:
    """Plays a script: `behaviour` decides output, errors, exit code, or a hang."""

    behaviour: ClassVar[dict[str, Any]] = {}

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.state = PSInvocationState.NOT_STARTED
        self.output: list[Any] = []
        self.streams = _Streams([])
        self.had_errors = False
        self.stopped = False
        self.polls = 0

    def add_script(self, text: str) -> None:
        self.text = text

    def begin_invoke(self) -> None:
        self.state = PSInvocationState.RUNNING

    def poll_invoke(self, timeout: int | None = None) -> None:
        b = self.behaviour
        self.polls += 1
        if b.get("raise"):
            raise b["raise"]
        if b.get("hang"):
            return
        self.output = list(b.get("output", []))
        self.pool.host.ui.stdout.extend(b.get("ui", []))
        self.streams = _Streams([_Error(e) for e in b.get("errors", [])])
        self.had_errors = False  # pypsrp: True only for a Failed pipeline, not error records
        if "exit" in b:
            self.pool.host.SetShouldExit(None, None, b["exit"])
        self.state = PSInvocationState.COMPLETED

    def stop(self) -> None:
        self.stopped = True
        self.state = PSInvocationState.STOPPED


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    _Pool.opened = _Pool.closed = 0
    monkeypatch.setattr(psrp_module, "RunspacePool", _Pool)
    monkeypatch.setattr(psrp_module, "PowerShell", _PowerShell)
    monkeypatch.setattr(psrp_module, "WSMan", lambda *a, **k: type(
        "W", (), {"transport": type("T", (), {"_build_session": None})(), "close": lambda s: None}
    )())


def _transport(tmp_path: Path, **host_vars: Any) -> PsrpTransport:
    fake = FakeWsman()  # never started: only the port number is taken from it
    fake.start()
    spec = spec_for(fake, **host_vars)
    fake.stop()
    return PsrpTransport(spec, context_for(tmp_path))


def test_exit_code_output_lines_and_errors(tmp_path: Path, stand_ins: None) -> None:
    _PowerShell.behaviour = {"output": ["HVDYN1 {}", 42], "ui": ["hello\r\n"],
                             "errors": ["boom"], "exit": 3}
    result = _transport(tmp_path).run(SCRIPT, timeout_s=5)
    assert result.rc == 3
    assert result.stdout == "HVDYN1 {}\r\n42\r\nhello\r\n"
    assert result.stderr == (
        "boom\r\nAt line:1 char:6\r\n    + FullyQualifiedErrorId : RuntimeException\r\n"
    )


def test_rc_without_exit(tmp_path: Path, stand_ins: None) -> None:
    transport = _transport(tmp_path)
    _PowerShell.behaviour = {"output": ["a"]}
    assert transport.run(SCRIPT, timeout_s=5).rc == 0
    _PowerShell.behaviour = {"errors": ["bad"]}
    assert transport.run(SCRIPT, timeout_s=5).rc == 1
    assert _Pool.opened == 1  # one pool for both scripts


def test_pool_recycled_after_n_invocations(tmp_path: Path, stand_ins: None) -> None:
    transport = _transport(tmp_path, hvdyn_psrp_recycle_after=2)
    _PowerShell.behaviour = {"exit": 0}
    for _ in range(5):
        transport.run(SCRIPT, timeout_s=5)
    assert _Pool.opened == 3 and _Pool.closed == 2


def test_pool_recycled_after_an_error(tmp_path: Path, stand_ins: None) -> None:
    transport = _transport(tmp_path)
    _PowerShell.behaviour = {"raise": ConnectionResetError("reset by peer")}
    with pytest.raises(ConnectError):
        transport.run(SCRIPT, timeout_s=5)
    _PowerShell.behaviour = {"exit": 0}
    assert transport.run(SCRIPT, timeout_s=5).rc == 0
    assert _Pool.opened == 2 and _Pool.closed == 1


def test_deadline_stops_the_pipeline(tmp_path: Path, stand_ins: None) -> None:
    transport = _transport(tmp_path)
    _PowerShell.behaviour = {"hang": True}
    with pytest.raises(TransportTimeout, match="deadline"):
        transport.run(SCRIPT, timeout_s=0.05)
    assert _Pool.closed == 1


# ---------------------------------------------------------------- real pypsrp, fake endpoint


def test_real_pypsrp_wrong_password(tmp_path: Path, fake: FakeWsman) -> None:
    transport = PsrpTransport(spec_for(fake), context_for(tmp_path, password="nope"))
    with pytest.raises(AuthError, match=r"\$HVDYN_TEST_FAKE_PASSWORD"):
        transport.run(SCRIPT, timeout_s=5)


def test_real_pypsrp_connection_refused(tmp_path: Path) -> None:
    fake = FakeWsman().start()
    spec = spec_for(fake)
    fake.stop()
    with pytest.raises(ConnectError, match="winrm quickconfig"):
        PsrpTransport(spec, context_for(tmp_path)).run(SCRIPT, timeout_s=5)


def test_real_pypsrp_tls10(tmp_path: Path, tls10: tuple[FakeWsman, Path]) -> None:  # noqa: F811
    fake, cert = tls10
    default = PsrpTransport(spec_for(fake, scheme="https", hvdyn_ca_bundle=str(cert)),
                            context_for(tmp_path))
    with pytest.raises(TlsError, match="hvdyn_tls_min"):
        default.run(SCRIPT, timeout_s=5)
    assert fake.requests == 0
    opted = PsrpTransport(
        spec_for(fake, scheme="https", hvdyn_ca_bundle=str(cert), hvdyn_tls_min="1.0"),
        context_for(tmp_path),
    )
    # TLS and auth succeed and the whole PSRP exchange runs over TLS 1.0 (fake_psrp.py).
    result = opted.run(SCRIPT, timeout_s=5)
    assert (result.rc, result.stdout) == (0, "tls ok\r\n")
    assert fake.actions["Create"] == 1 and fake.scripts == ["'x'"]
    assert opted.requests_sent == 4
    opted.close()
