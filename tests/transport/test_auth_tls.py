"""CredSSP over HTTPS (pyspnego's CredSSP acceptor) and client-certificate auth over TLS.

Throw-away certificates come from `certs.Authority`; the listener is the
fake endpoint behind a real TLS socket (TLS 1.2+, as a 2008 R2 host with
TLS 1.2 enabled in SChannel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hvdyn.core.errors import AuthError, TlsError
from hvdyn.core.model import Script
from hvdyn.run.ping import ping_host
from hvdyn.transport.psrp import PsrpTransport
from hvdyn.transport.winrm import WinrmTransport

from .certs import Authority, Pem, server_context
from .conftest import context_for, spec_for
from .fake_auth import ServerAuth
from .fake_wsman import FakeWsman, Reply
from .test_ping import _answer

TRANSPORTS: dict[str, Any] = {"winrm": WinrmTransport, "psrp": PsrpTransport}
SCRIPT = Script(name="probe", text="Write-Output 'hello'\n", params={})


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Authority, Pem]:
    folder = tmp_path / "pki"
    folder.mkdir()
    authority = Authority(folder)
    return authority, authority.issue("localhost", server=True)


def _run(name: str, fake: FakeWsman, tmp_path: Path, password: str | None,
         **spec: Any) -> tuple[Any, Any]:
    transport = TRANSPORTS[name](spec_for(fake, scheme="https", address="localhost", **spec),
                                 context_for(tmp_path, password))
    try:
        return transport.run(SCRIPT, timeout_s=30), transport.security()
    finally:
        transport.close()


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_ntlm_over_https_relies_on_tls(name: str, pki: tuple[Authority, Pem], ntlm_users: Path,
                                       tmp_path: Path) -> None:
    authority, server = pki
    auth = ServerAuth(offers=("Negotiate",), require_encryption=True)
    with FakeWsman(lambda t: Reply(stdout="hello\r\n"), tls=server_context(server),
                   auth=auth) as fake:
        result, security = _run(name, fake, tmp_path, "S3cret!", auth="ntlm",
                                hvdyn_ca_bundle=str(authority.pem.cert))
    assert result.stdout == "hello\r\n" and auth.accepted == ["Negotiate:hvadmin"]
    assert fake.plain_bodies > 0 and fake.encrypted_bodies == 0  # TLS protects them
    assert security.describe() == f"ntlm, protected by {security.tls_version}"


# ---------------------------------------------------------------- CredSSP


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_credssp_over_https(name: str, pki: tuple[Authority, Pem], ntlm_users: Path,
                            tmp_path: Path) -> None:
    authority, server = pki
    auth = ServerAuth(offers=("CredSSP",))
    with FakeWsman(lambda t: Reply(stdout="hello\r\n"), tls=server_context(server),
                   auth=auth) as fake:
        result, security = _run(name, fake, tmp_path, "S3cret!", auth="credssp",
                                hvdyn_ca_bundle=str(authority.pem.cert))
    assert (result.rc, result.stdout) == (0, "hello\r\n")
    assert auth.accepted == ["CredSSP:hvadmin"]  # the acceptor received the delegated password
    assert security.auth == "credssp" and security.tls_version in ("TLSv1.2", "TLSv1.3")
    assert not security.message_encryption and "protected by TLSv1." in security.describe()


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_credssp_wrong_password_is_rejected_clearly(
    name: str, pki: tuple[Authority, Pem], ntlm_users: Path, tmp_path: Path
) -> None:
    authority, server = pki
    with FakeWsman(tls=server_context(server), auth=ServerAuth(offers=("CredSSP",))) as fake, \
            pytest.raises(AuthError) as caught:
        _run(name, fake, tmp_path, "wrong", auth="credssp",
             hvdyn_ca_bundle=str(authority.pem.cert))
    assert "credssp authentication as hvadmin was rejected" in str(caught.value)
    assert fake.actions["Create"] == 0


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_credssp_not_enabled_on_the_host(name: str, pki: tuple[Authority, Pem],
                                         tmp_path: Path) -> None:
    authority, server = pki
    with FakeWsman(tls=server_context(server), auth=ServerAuth(offers=("Negotiate",))) as fake, \
            pytest.raises(AuthError) as caught:
        _run(name, fake, tmp_path, "S3cret!", auth="credssp",
             hvdyn_ca_bundle=str(authority.pem.cert))
    assert "does not offer credssp authentication (it offers: Negotiate)" in str(caught.value)
    assert "CredSSP" in (caught.value.hint or "")


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_credssp_over_http_encrypts_with_the_credssp_session(
    name: str, ntlm_users: Path, tmp_path: Path
) -> None:
    """2008 R2 without an HTTPS listener: bodies are sealed by CredSSP's TLS session.

    A 30 KB script makes the clients split a request into 16 KB pieces
    (multipart/x-multi-encrypted), as WinRM expects from CredSSP.
    """
    big = Script(name="big", text="# " + "x" * 30000 + "\nWrite-Output 'hello'\n", params={})
    auth = ServerAuth(offers=("CredSSP",), require_encryption=True)
    with FakeWsman(lambda t: Reply(stdout="hello\r\n"), auth=auth) as fake:
        transport = TRANSPORTS[name](spec_for(fake, auth="credssp"),
                                     context_for(tmp_path, "S3cret!"))
        try:
            result = transport.run(big, timeout_s=30)
            security = transport.security()
        finally:
            transport.close()
    assert result.stdout == "hello\r\n" and fake.scripts[-1] == big.text
    assert fake.content_types["multipart/x-multi-encrypted"] >= 1
    assert fake.plain_bodies == 0 and not any(b"Envelope" in b for b in fake.wire)
    assert security.describe() == "credssp, messages encrypted (credssp session keys)"


# ---------------------------------------------------------------- certificates


def _cert_server(server: Pem, authority: Authority) -> tuple[Any, ServerAuth]:
    auth = ServerAuth(offers=("Certificate",), cert_users={"hvadmin@localhost": "hvadmin"})
    return server_context(server, client_ca=authority.pem.cert), auth


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_client_certificate_auth(name: str, pki: tuple[Authority, Pem], tmp_path: Path) -> None:
    authority, server = pki
    client = authority.issue("hvadmin", server=False)
    tls, auth = _cert_server(server, authority)
    with FakeWsman(lambda t: Reply(stdout="hello\r\n"), tls=tls, auth=auth) as fake:
        result, security = _run(name, fake, tmp_path, None, auth="certificate", user=None,
                                hvdyn_ca_bundle=str(authority.pem.cert),
                                hvdyn_cert_pem=str(client.cert),
                                hvdyn_cert_key_pem=str(client.key))
    assert result.stdout == "hello\r\n" and set(auth.accepted) == {"Certificate:hvadmin"}
    assert security.auth == "certificate" and security.tls_version in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_an_unmapped_client_certificate_is_refused_clearly(
    name: str, pki: tuple[Authority, Pem], tmp_path: Path
) -> None:
    authority, server = pki
    client = authority.issue("someone-else", server=False)
    tls, auth = _cert_server(server, authority)
    with FakeWsman(tls=tls, auth=auth) as fake, pytest.raises(AuthError) as caught:
        _run(name, fake, tmp_path, None, auth="certificate", user=None,
             hvdyn_ca_bundle=str(authority.pem.cert), hvdyn_cert_pem=str(client.cert),
             hvdyn_cert_key_pem=str(client.key))
    assert "the host refused the client certificate" in str(caught.value)
    assert "certmapping" in (caught.value.hint or "")
    assert fake.actions["Create"] == 0


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_a_certificate_from_an_unknown_ca_fails_the_handshake_clearly(
    name: str, pki: tuple[Authority, Pem], tmp_path: Path
) -> None:
    authority, server = pki
    stranger = Authority(tmp_path / "pki", name="other CA").issue("hvadmin", server=False)
    tls, auth = _cert_server(server, authority)
    with FakeWsman(tls=tls, auth=auth) as fake, pytest.raises((TlsError, AuthError)) as caught:
        _run(name, fake, tmp_path, None, auth="certificate", user=None,
             hvdyn_ca_bundle=str(authority.pem.cert), hvdyn_cert_pem=str(stranger.cert),
             hvdyn_cert_key_pem=str(stranger.key))
    assert "client certificate" in str(caught.value)
    assert "Trusted Root" in (caught.value.hint or "")
    assert fake.actions["Create"] == 0 and not auth.accepted


def test_ping_reports_certificate_auth_and_the_tls_version(pki: tuple[Authority, Pem],
                                                           tmp_path: Path) -> None:
    authority, server = pki
    client = authority.issue("hvadmin", server=False)
    tls, auth = _cert_server(server, authority)
    with FakeWsman(_answer, tls=tls, auth=auth) as fake:
        spec = spec_for(fake, scheme="https", address="localhost", auth="certificate", user=None,
                        hvdyn_ca_bundle=str(authority.pem.cert), hvdyn_cert_pem=str(client.cert),
                        hvdyn_cert_key_pem=str(client.key))
        result = ping_host(spec, context_for(tmp_path, None), timeout_s=30)
    assert result.ok, result
    assert result.auth == "certificate" and not result.message_encryption
    assert result.tls_version in ("TLSv1.2", "TLSv1.3")
    assert result.security == f"certificate, protected by {result.tls_version}"
