"""Several auth methods for a host are tried in order, as Ansible's winrm plugin does."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from hvdyn.core.errors import AuthError, ConnectError
from hvdyn.core.model import HostSpec, Script, ScriptResult
from hvdyn.transport import TransportContext, transport_class


class FakeTransport:
    """Accepts the methods in `accepted`; records every method it was built with."""

    accepted: ClassVar[set[str]] = set()
    built: ClassVar[list[str]] = []
    runs: ClassVar[list[str]] = []
    fail_later: ClassVar[bool] = False

    def __init__(self, spec: HostSpec, context: Any) -> None:
        self.spec = spec
        self.security = f"negotiated {spec.auth}"
        FakeTransport.built.append(spec.auth)

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        if self.spec.auth not in self.accepted or (self.fail_later and FakeTransport.runs):
            raise AuthError(self.spec.name, f"{self.spec.auth} rejected")
        FakeTransport.runs.append(self.spec.auth)
        return ScriptResult(stdout="ok", stderr="", rc=0)

    def close(self) -> None:
        pass


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeTransport]:
    monkeypatch.setitem(
        __import__("hvdyn.transport", fromlist=["_REGISTRY"])._REGISTRY,
        "winrm", f"{__name__}:FakeTransport",
    )
    FakeTransport.built, FakeTransport.runs, FakeTransport.fail_later = [], [], False
    return FakeTransport


def _run(tmp_path: Path, order: tuple[str, ...], times: int = 1) -> Any:
    spec = HostSpec(name="hv01", address="hv01", auth=order[0], auth_order=order)
    transport = transport_class("winrm")(spec, TransportContext(state_dir=tmp_path))
    for _ in range(times):
        transport.run(Script(name="ping", params={}, text="x"), timeout_s=5)
    return transport


def test_next_method_when_the_first_is_rejected(fake: type[FakeTransport], tmp_path: Path) -> None:
    fake.accepted = {"ntlm"}
    transport = _run(tmp_path, ("kerberos", "ntlm"), times=2)
    assert fake.built == ["kerberos", "ntlm"] and fake.runs == ["ntlm", "ntlm"]
    assert transport.security == "negotiated ntlm"  # attributes of the live transport


def test_every_method_rejected_reports_the_last(fake: type[FakeTransport], tmp_path: Path) -> None:
    fake.accepted = set()
    with pytest.raises(AuthError, match="ntlm rejected"):
        _run(tmp_path, ("kerberos", "ntlm"))
    assert fake.built == ["kerberos", "ntlm"]


def test_no_retry_once_a_script_ran(fake: type[FakeTransport], tmp_path: Path) -> None:
    fake.accepted, fake.fail_later = {"kerberos", "ntlm"}, True
    with pytest.raises(AuthError, match="kerberos rejected"):
        _run(tmp_path, ("kerberos", "ntlm"), times=2)
    assert fake.built == ["kerberos"] and fake.runs == ["kerberos"]


def test_one_method_is_the_plain_transport(fake: type[FakeTransport], tmp_path: Path) -> None:
    fake.accepted = {"ntlm"}
    assert type(_run(tmp_path, ("ntlm",))) is FakeTransport


def test_other_errors_are_not_retried(
    fake: type[FakeTransport], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(self: FakeTransport, script: Script, *, timeout_s: float) -> ScriptResult:
        raise ConnectError(self.spec.name, "connection refused")

    monkeypatch.setattr(FakeTransport, "run", refused)
    with pytest.raises(ConnectError):
        _run(tmp_path, ("kerberos", "ntlm"))
    assert fake.built == ["kerberos"]
