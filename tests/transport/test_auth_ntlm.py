"""NTLM with WinRM message encryption against pyspnego's real NTLM acceptor.

hvdyn's default connection to a 2008 R2 host: ntlm over HTTP 5985, bodies
sealed with the NTLM session keys (`multipart/encrypted`), on one
keep-alive connection. The fake refuses plain SOAP as the service does with
AllowUnencrypted=false, so a transport that stopped encrypting fails here.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from winrm.exceptions import InvalidCredentialsError
from winrm.protocol import Protocol

from hvdyn.core.errors import AuthError, ConnectError, CredentialError
from hvdyn.core.model import Script
from hvdyn.run.ping import ping_host
from hvdyn.transport.psrp import PsrpTransport
from hvdyn.transport.winrm import WinrmTransport

from .conftest import PASSWORD, context_for, spec_for
from .fake_auth import ServerAuth
from .fake_wsman import FakeWsman, Reply
from .test_ping import _answer

TRANSPORTS = {"winrm": WinrmTransport, "psrp": PsrpTransport}
SCRIPT = Script(name="probe", text="Write-Output 'hello from 2008 R2'\n", params={})


def _ntlm_server(**kwargs: Any) -> ServerAuth:
    return ServerAuth(offers=("Negotiate",), require_encryption=True, **kwargs)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
@pytest.mark.parametrize("user", ["hvadmin", "HVLAB\\hvadmin"])
def test_defaults_authenticate_with_ntlm_and_encrypt_every_body(
    name: str, user: str, ntlm_users: Path, tmp_path: Path
) -> None:
    with FakeWsman(lambda text: Reply(stdout="hello\r\n"), auth=_ntlm_server()) as fake:
        transport = TRANSPORTS[name](spec_for(fake, auth="ntlm", user=user), context_for(tmp_path))
        try:
            first = transport.run(SCRIPT, timeout_s=20)
            second = transport.run(SCRIPT, timeout_s=20)
            security = transport.security()
        finally:
            transport.close()
    assert (first.rc, first.stdout, second.stdout) == (0, "hello\r\n", "hello\r\n")
    assert fake.auth.accepted == [f"Negotiate:{user}"]  # one handshake for both scripts
    assert fake.connections == 1  # the handshake and every message on one keep-alive socket
    assert fake.plain_bodies == 0 and fake.encrypted_bodies >= 4
    assert fake.wire and not any(b"Envelope" in body or b"Write-Output" in body
                                 for body in fake.wire)
    assert all(body.startswith(b"--Encrypted Boundary\r\n") for body in fake.wire)
    assert security.auth == "ntlm" and security.message_encryption
    assert security.tls_version is None and security.spn is None
    assert "messages encrypted" in security.describe()


def test_the_fake_refuses_plain_soap_when_encryption_is_required(
    ntlm_users: Path, tmp_path: Path
) -> None:
    """The guard above can fail: an NTLM client that does not encrypt is refused."""
    with FakeWsman(auth=_ntlm_server()) as fake:
        proto = Protocol(f"http://127.0.0.1:{fake.port}/wsman", transport="ntlm",
                         username="hvadmin", password=PASSWORD, message_encryption="never",
                         ca_trust_path=None)  # type: ignore[arg-type]
        with pytest.raises(InvalidCredentialsError):
            proto.open_shell()
    assert fake.plain_bodies >= 1 and fake.actions["Create"] == 0


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_wrong_password_is_an_auth_error_about_the_password(
    name: str, ntlm_users: Path, tmp_path: Path
) -> None:
    with FakeWsman(auth=_ntlm_server()) as fake:
        transport = TRANSPORTS[name](spec_for(fake, auth="ntlm"),
                                     context_for(tmp_path, password="wrong"))
        with pytest.raises(AuthError) as caught:
            transport.run(SCRIPT, timeout_s=20)
        transport.close()
    assert "ntlm authentication as hvadmin was rejected" in str(caught.value)
    assert "password" in (caught.value.hint or "")
    assert fake.auth.accepted == [] and fake.actions["Create"] == 0
    assert any("NTLM_USER_FILE" not in r and "Negotiate" in r for r in fake.auth.refused)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_a_host_without_ntlm_says_what_it_offers(name: str, tmp_path: Path) -> None:
    with FakeWsman(auth=ServerAuth(offers=("Basic",))) as fake:
        transport = TRANSPORTS[name](spec_for(fake, auth="ntlm"), context_for(tmp_path))
        with pytest.raises(AuthError) as caught:
            transport.run(SCRIPT, timeout_s=20)
        transport.close()
    message = str(caught.value)
    assert "does not offer ntlm authentication (it offers: Basic)" in message
    assert "Negotiate" in (caught.value.hint or "") and "password" not in message


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
@pytest.mark.parametrize("user", [None, "hvadmin"])
@pytest.mark.parametrize("password", [None, PASSWORD])
def test_nothing_listening_is_reported_before_any_credential_problem(
    name: str, user: str | None, password: str | None, tmp_path: Path
) -> None:
    with FakeWsman() as fake:  # only for spec_for's shape; the port below is closed
        spec = spec_for(fake, auth="ntlm", user=user, port=_closed_port())
    transport = TRANSPORTS[name](spec, context_for(tmp_path, password=password))
    with pytest.raises(ConnectError) as caught:
        transport.run(SCRIPT, timeout_s=10)
    assert "refused" in str(caught.value) and "authentication" not in str(caught.value)
    assert "password" not in str(caught.value)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_a_missing_user_is_named_not_the_password(name: str, tmp_path: Path) -> None:
    with FakeWsman(auth=_ntlm_server()) as fake:
        transport = TRANSPORTS[name](spec_for(fake, auth="ntlm", user=None),
                                     context_for(tmp_path, password=None))
        with pytest.raises(CredentialError) as caught:
            transport.run(SCRIPT, timeout_s=10)
    assert "no user for ntlm authentication" in str(caught.value)
    assert "ansible_user" in (caught.value.hint or "")
    assert "password" not in str(caught.value).split("(hint")[0]


def test_ping_reports_ntlm_and_message_encryption(ntlm_users: Path, tmp_path: Path) -> None:
    with FakeWsman(_answer, auth=_ntlm_server()) as fake:
        result = ping_host(spec_for(fake, auth="ntlm"), context_for(tmp_path), timeout_s=20)
    assert result.ok, result
    assert (result.auth, result.message_encryption, result.tls_version) == ("ntlm", True, None)
    assert result.security == "ntlm, messages encrypted (ntlm session keys)"
