"""Throw-away X.509 material for TLS tests, made with `cryptography`.

A CA, a server certificate for localhost / 127.0.0.1 signed by it, and
client certificates as WinRM's certificate mapping wants them: the account
as a UPN in the Subject Alternative Name (``user@localhost``) and the
client-auth extended key usage.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")  # Microsoft's UPN otherName


def _utf8_string(text: str) -> bytes:
    """DER UTF8String (short lengths only: UPNs here are short)."""
    data = text.encode("utf-8")
    assert len(data) < 128
    return bytes([0x0C, len(data)]) + data


def upn_of(der: bytes) -> str | None:
    """The UPN in a certificate's Subject Alternative Name, as Windows maps it."""
    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for other in names.get_values_for_type(x509.OtherName):
        if other.type_id == UPN_OID and other.value[:1] == b"\x0c":
            return other.value[2 : 2 + other.value[1]].decode("utf-8")
    return None


@dataclass(frozen=True)
class Pem:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    pem = Pem(folder / f"{stem}.pem", folder / f"{stem}.key")
    pem.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    pem.key.chmod(0o600)
    return pem


class Authority:
    """A CA that signs server and client certificates into `folder`."""

    def __init__(self, folder: Path, name: str = "hvdyn test CA") -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        stem = name.replace(" ", "-")
        self.pem = _write(folder, stem, self.cert, self.key)

    def issue(self, common_name: str, *, server: bool) -> Pem:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]), critical=False).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        else:
            upn = x509.OtherName(UPN_OID, _utf8_string(f"{common_name}@localhost"))
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            ).add_extension(x509.SubjectAlternativeName([upn]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return _write(self.folder, common_name.replace("\\", "_"), cert, key)


def server_context(server: Pem, client_ca: Path | None = None) -> ssl.SSLContext:
    """A TLS 1.2+ listener; with `client_ca`, a client certificate from that CA is required."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server.cert, server.key)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=str(client_ca))
    return ctx
