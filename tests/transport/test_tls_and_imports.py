"""TLS 1.0 opt-in against a TLS-1.0-only listener; lazy imports of the client libraries."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from hvdyn.core.errors import TlsError
from hvdyn.core.model import Script
from hvdyn.transport.winrm import WinrmTransport

from .conftest import context_for, spec_for
from .fake_wsman import FakeWsman, Reply


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(
            "127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "listener.pem", tmp / "listener.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls10(tmp_path: Path) -> Iterator[tuple[FakeWsman, Path]]:
    """A listener that speaks only TLS 1.0 and prefers ECDHE-RSA-AES*-SHA, like 2008 R2."""
    cert, key = _self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:AES256-SHA:@SECLEVEL=0")
    ctx.load_cert_chain(cert, key)
    with FakeWsman(lambda s: Reply(stdout="tls ok\r\n"), tls=ctx) as fake:
        yield fake, cert


SCRIPT = Script(name="ping", params={}, text="'x'")


def test_tls10_listener_fails_by_default_naming_the_opt_in(
    tmp_path: Path, tls10: tuple[FakeWsman, Path]
) -> None:
    fake, cert = tls10
    spec = spec_for(fake, scheme="https", hvdyn_ca_bundle=str(cert))
    transport = WinrmTransport(spec, context_for(tmp_path))
    with pytest.raises(TlsError) as info:
        transport.run(SCRIPT, timeout_s=5)
    assert "hvdyn_tls_min" in str(info.value)
    assert fake.requests == 0


def test_tls10_listener_works_with_opt_in(
    tmp_path: Path, tls10: tuple[FakeWsman, Path], caplog: pytest.LogCaptureFixture
) -> None:
    fake, cert = tls10
    spec = spec_for(fake, scheme="https", hvdyn_ca_bundle=str(cert), hvdyn_tls_min="1.0")
    transport = WinrmTransport(spec, context_for(tmp_path))
    assert transport.run(SCRIPT, timeout_s=5).stdout == "tls ok\r\n"
    # pywinrm drops its requests session on close_shell; a new transport run builds a
    # new one and the adapter must be mounted again.
    transport.close()
    assert transport.run(SCRIPT, timeout_s=5).stdout == "tls ok\r\n"
    transport.close()
    assert any("hvdyn_tls_min" in r.getMessage() for r in caplog.records)


def test_tls10_without_ca_fails_validation_with_hint(
    tmp_path: Path, tls10: tuple[FakeWsman, Path]
) -> None:
    fake, _cert = tls10
    transport = WinrmTransport(spec_for(fake, scheme="https", hvdyn_tls_min="1.0"),
                               context_for(tmp_path))
    with pytest.raises(TlsError, match="hvdyn_ca_bundle"):
        transport.run(SCRIPT, timeout_s=5)


def test_tls10_with_validation_ignored(tmp_path: Path, tls10: tuple[FakeWsman, Path]) -> None:
    fake, _cert = tls10
    spec = spec_for(fake, scheme="https", hvdyn_tls_min="1.0", hvdyn_cert_validation="ignore")
    transport = WinrmTransport(spec, context_for(tmp_path))
    assert transport.run(SCRIPT, timeout_s=5).stdout == "tls ok\r\n"
    transport.close()


def test_importing_hvdyn_transport_does_not_load_client_libraries() -> None:
    code = (
        "import sys, hvdyn, hvdyn.transport, hvdyn.inventory.credentials, hvdyn.run.ping\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('winrm', 'pypsrp', 'requests', 'urllib3', 'keyring'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True)
    assert out.stdout.strip() == ""
