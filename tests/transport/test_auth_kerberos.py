"""Kerberos against a real MIT KDC (127.0.0.1) and a GSSAPI acceptor with an HTTP/ keytab.

The `kdc` fixture starts a throw-away realm HVDYN.TEST, points this process
at it (KRB5_CONFIG, KRB5_KTNAME) and gives it an empty private credential
cache (KRB5CCNAME), so nothing here reads or writes the user's own tickets.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from hvdyn.core.errors import AuthError, CredentialError
from hvdyn.core.model import Script
from hvdyn.run.ping import ping_host
from hvdyn.transport._errors import classify
from hvdyn.transport._options import parse_options
from hvdyn.transport.psrp import PsrpTransport
from hvdyn.transport.winrm import WinrmTransport

from .conftest import context_for, spec_for
from .fake_auth import ServerAuth
from .fake_wsman import FakeWsman, Reply
from .kdc import REALM, USER_PASSWORD, Realm
from .simlab import REPO, hvdyn, simulated_lab
from .test_ping import _answer

TRANSPORTS: dict[str, Any] = {"winrm": WinrmTransport, "psrp": PsrpTransport}
SCRIPT = Script(name="probe", text="Write-Output 'hello'\n", params={})
USER = f"hv@{REALM}"


def _kerberos_server() -> ServerAuth:
    return ServerAuth(offers=("Negotiate", "Kerberos"), require_encryption=True)


def _run(name: str, fake: FakeWsman, tmp_path: Path, password: str | None,
         **spec: Any) -> tuple[Any, Any]:
    options: dict[str, Any] = {"auth": "kerberos", "user": USER, "address": "localhost"}
    options.update(spec)
    transport = TRANSPORTS[name](spec_for(fake, **options), context_for(tmp_path, password))
    try:
        return transport.run(SCRIPT, timeout_s=30), transport.security()
    finally:
        transport.close()


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_password_and_no_ticket_gets_a_private_ticket(name: str, kdc: Realm,
                                                      tmp_path: Path) -> None:
    with FakeWsman(lambda text: Reply(stdout="hello\r\n"), auth=_kerberos_server()) as fake:
        result, security = _run(name, fake, tmp_path, USER_PASSWORD)
    assert (result.rc, result.stdout) == (0, "hello\r\n")
    assert fake.auth.accepted == [f"Negotiate:{USER}"]
    assert fake.plain_bodies == 0 and fake.encrypted_bodies >= 4
    assert not any(b"Envelope" in body for body in fake.wire)
    assert (security.auth, security.spn, security.message_encryption) == (
        "kerberos", "HTTP/localhost", True)
    # the ticket lived in memory: the private cache was never created, the password never
    # written (the realm's directory holds the KDC database, logs and the trace)
    assert not (kdc.root / "ccache").exists()
    assert _files_containing(kdc.root, USER_PASSWORD.encode()) == []
    assert _files_containing(tmp_path, USER_PASSWORD.encode()) == []


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_an_existing_ticket_is_used_without_a_password(name: str, kdc: Realm,
                                                       tmp_path: Path) -> None:
    kdc.kinit()
    with FakeWsman(lambda text: Reply(stdout="hello\r\n"), auth=_kerberos_server()) as fake:
        result, security = _run(name, fake, tmp_path, None)
    assert result.rc == 0 and fake.auth.accepted == [f"Negotiate:{USER}"]
    assert security.auth == "kerberos"


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_no_ticket_and_no_password_says_kinit(name: str, kdc: Realm, tmp_path: Path) -> None:
    with FakeWsman(auth=_kerberos_server()) as fake, pytest.raises(AuthError) as caught:
        _run(name, fake, tmp_path, None)
    assert f"kerberos: no Kerberos ticket for {USER} and no password" in str(caught.value)
    assert f"kinit {USER}" in (caught.value.hint or "")
    assert "firewall" not in str(caught.value)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
@pytest.mark.parametrize(
    ("spec", "password", "message", "hint"),
    [
        ({}, "wrong", f"the KDC refused the password for {USER}", "check the password"),
        ({"user": f"nobody@{REALM}"}, USER_PASSWORD,
         f"the KDC does not know the user nobody@{REALM}", "realm in capitals"),
        ({"address": "127.0.0.1"}, USER_PASSWORD,
         "the KDC knows no service principal HTTP/127.0.0.1", "hostname_override"),
    ],
    ids=["wrong-password", "unknown-principal", "spn-not-found"],
)
def test_kerberos_failures_get_kerberos_hints(
    name: str, spec: dict[str, Any], password: str, message: str, hint: str, kdc: Realm,
    tmp_path: Path
) -> None:
    with FakeWsman(auth=_kerberos_server()) as fake, pytest.raises(AuthError) as caught:
        _run(name, fake, tmp_path, password, **spec)
    assert message in str(caught.value)
    assert hint in (caught.value.hint or "")
    assert fake.auth.accepted == []


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_hostname_override_fixes_the_spn_for_an_ip_address(name: str, kdc: Realm,
                                                           tmp_path: Path) -> None:
    with FakeWsman(lambda text: Reply(stdout="hi\r\n"), auth=_kerberos_server()) as fake:
        result, security = _run(name, fake, tmp_path, USER_PASSWORD, address="127.0.0.1",
                                ansible_winrm_kerberos_hostname_override="localhost")
    assert result.rc == 0 and security.spn == "HTTP/localhost"


def test_clock_skew_gets_the_clock_hint(kdc: Realm) -> None:
    """MIT's own error for KRB5KRB_AP_ERR_SKEW, as the library words it.

    Not provoked through the KDC here: MIT's client takes its time offset from the
    KDC's pre-authentication answer, and the acceptor runs on this machine's clock,
    so neither side of this test bed can be skewed without faking the clock.
    """
    import krb5

    skew = krb5.Krb5Error(krb5.init_context(), -1765328347)  # KRB5KRB_AP_ERR_SKEW
    with FakeWsman() as fake:
        opts = parse_options(spec_for(fake, auth="kerberos", user=USER, address="localhost"))
    error = classify(opts, skew)
    assert isinstance(error, AuthError)
    assert "more than 5 minutes" in str(error) and "synchronise the clocks" in (error.hint or "")


def test_ping_reports_kerberos_and_the_spn(kdc: Realm, tmp_path: Path) -> None:
    with FakeWsman(_answer, auth=_kerberos_server()) as fake:
        spec = spec_for(fake, auth="kerberos", user=USER, address="localhost")
        result = ping_host(spec, context_for(tmp_path, USER_PASSWORD), timeout_s=30)
    assert result.ok, result
    assert (result.auth, result.spn, result.message_encryption) == (
        "kerberos", "HTTP/localhost", True)
    assert result.security == "kerberos, SPN HTTP/localhost, messages encrypted" \
        " (kerberos session keys)"


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_plan_apply_collect_over_kerberos_from_an_inventory(
    name: str, kdc: Realm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with simulated_lab(TRANSPORTS[name], name, tmp_path, monkeypatch, auth="kerberos",
                       server_auth=_kerberos_server(), user=USER, address="127.0.0.1") as (
            sim, fake, inventory):
        monkeypatch.setenv("HVDYN_LAB_PASSWORD", USER_PASSWORD)
        state = ["--state-dir", str(tmp_path / "state"), "--format", "json"]
        policy = REPO / "examples" / "lab.yaml"
        code, doc = hvdyn("ping", "-i", inventory, *state)
        assert code == 0 and {h["spn"] for h in doc["hosts"]} == {"HTTP/localhost"}, doc
        code, doc = hvdyn("apply", policy, "-i", inventory, "--allow-restart", *state)
        assert code == 0 and doc["summary"]["failed"] == 0, doc
        # a ticket from kinit, no password at all
        monkeypatch.delenv("HVDYN_LAB_PASSWORD")
        kdc.kinit()
        code, doc = hvdyn("collect", "-i", inventory, *state)
        assert code == 0, doc
        code, doc = hvdyn("plan", policy, "-i", inventory, *state)
        assert code == 0 and doc["summary"]["changes"] == 0, doc
    assert {"ping", "discover", "apply", "collect"} <= {s for _h, s in sim.received}
    assert fake.plain_bodies == 0 and not fake.auth.refused


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_kerberos_without_the_extra_says_how_to_install_it(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gssapi", None)  # as without hvdyn[kerberos]: no import
    with FakeWsman(auth=_kerberos_server()) as fake, pytest.raises(CredentialError) as caught:
        _run(name, fake, tmp_path, USER_PASSWORD)
    assert "kerberos authentication is not available" in str(caught.value)
    assert "hvdyn[kerberos]" in (caught.value.hint or "")
    assert "libkrb5-dev" in (caught.value.hint or "")
    assert fake.requests == 0


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_no_kdc_answering_is_a_kerberos_error_not_a_network_one(
    name: str, kdc: Realm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    config = tmp_path / "krb5.conf"
    config.write_text((kdc.root / "krb5.conf").read_text().replace(
        f"127.0.0.1:{kdc.port}", f"127.0.0.1:{closed}"))
    monkeypatch.setenv("KRB5_CONFIG", str(config))
    with FakeWsman(auth=_kerberos_server()) as fake, pytest.raises(AuthError) as caught:
        _run(name, fake, tmp_path, USER_PASSWORD)
    assert "kerberos: no KDC answered for the realm" in str(caught.value)
    assert "port 88" in (caught.value.hint or "") and "firewall" not in str(caught.value)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_kerberos_over_https_relies_on_tls(name: str, kdc: Realm, tmp_path: Path) -> None:
    from .certs import Authority, server_context

    folder = tmp_path / "pki"
    folder.mkdir()
    authority = Authority(folder)
    tls = server_context(authority.issue("localhost", server=True))
    with FakeWsman(lambda text: Reply(stdout="hello\r\n"), tls=tls,
                   auth=_kerberos_server()) as fake:
        result, security = _run(name, fake, tmp_path, USER_PASSWORD, scheme="https",
                                hvdyn_ca_bundle=str(authority.pem.cert))
    assert result.rc == 0 and fake.auth.accepted == [f"Negotiate:{USER}"]
    assert security.auth == "kerberos" and not security.message_encryption
    expected = f"kerberos, SPN HTTP/localhost, protected by {security.tls_version}"
    assert security.describe() == expected
