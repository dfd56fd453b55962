"""The fake endpoint's authentication: Basic, or real acceptors from pyspnego.

What a Windows WinRM service does on HTTP 5985, played with real protocol
code so that hvdyn's client stacks (pywinrm, pypsrp) meet a server:

- ``Negotiate`` / ``NTLM`` / ``Kerberos`` legs on one keep-alive connection
  with pyspnego's acceptor (NTLM users from the file named by
  ``NTLM_USER_FILE``; Kerberos from the keytab named by ``KRB5_KTNAME``).
  The context belongs to the TCP connection: later requests on it carry no
  Authorization header, as with WinRM.
- ``CredSSP`` legs with pyspnego's CredSSP acceptor (inner NTLM, same file).
- Message encryption (MS-WSMV 2.2.9.1): a ``multipart/encrypted`` body is
  unwrapped with the connection's session keys and the answer wrapped the
  same way; with ``require_encryption`` a plain SOAP body is refused (401),
  as the service does with ``AllowUnencrypted=false``.
- Client certificates: the TLS layer demands one; the request must carry
  the WS-Management mutual-auth profile header, and the UPN in the
  certificate's Subject Alternative Name must be mapped to a user (WinRM's
  certmapping matches the UPN).
"""

from __future__ import annotations

import base64
import re
import ssl
import struct
from dataclasses import dataclass, field
from typing import Any

import spnego

from .certs import upn_of

CERT_PROFILE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
BOUNDARY = b"--Encrypted Boundary"
SCHEME_PROTOCOL = {"negotiate": "negotiate", "ntlm": "ntlm", "kerberos": "kerberos",
                   "credssp": "credssp"}


@dataclass
class ConnAuth:
    """Authentication state of one TCP connection."""

    context: Any = None
    scheme: str = ""  # the HTTP scheme the client used ("Negotiate", "CredSSP", ...)
    user: str | None = None


@dataclass
class Verdict:
    """What the handler does with a request after the auth step."""

    ok: bool
    headers: dict[str, str] = field(default_factory=dict)
    user: str | None = None


@dataclass
class ServerAuth:
    """The auth a fake endpoint offers; ``offers`` are the WWW-Authenticate schemes."""

    offers: tuple[str, ...] = ("Basic",)
    user: str = "hvadmin"
    password: str = "S3cret!"
    require_encryption: bool = False
    service: str = "http"  # SPN service part for Kerberos
    hostname: str = "localhost"
    cert_users: dict[str, str] = field(default_factory=dict)  # certificate UPN -> user
    accepted: list[str] = field(default_factory=list)  # "<scheme>:<user>" per success
    refused: list[str] = field(default_factory=list)

    def challenge(self) -> dict[str, str]:
        value = ", ".join('Basic realm="WSMAN"' if s == "Basic" else s for s in self.offers)
        return {"WWW-Authenticate": value}

    def check(self, header: str | None, conn: ConnAuth, peer_cert: Any = None) -> Verdict:
        """One request's Authorization header (None: rely on the connection's context)."""
        if "Certificate" in self.offers:
            return self._certificate(header, peer_cert)
        if header is None:
            if conn.context is not None and conn.context.complete:
                return Verdict(True, user=conn.user)
            return Verdict(False, self.challenge())
        scheme, _, token = header.partition(" ")
        offered = {s.lower() for s in self.offers}
        if scheme.lower() not in offered:
            self.refused.append(f"{scheme}: not offered")
            return Verdict(False, self.challenge())
        if scheme.lower() == "basic":
            expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            if token != expected:
                self.refused.append("Basic: bad password")
                return Verdict(False, self.challenge())
            return Verdict(True, user=self.user)
        return self._spnego(scheme, base64.b64decode(token), conn)

    def _spnego(self, scheme: str, token: bytes, conn: ConnAuth) -> Verdict:
        if conn.context is None or conn.context.complete or conn.scheme != scheme:
            conn.scheme = scheme
            conn.user = None
            conn.context = spnego.server(
                hostname=self.hostname, service=self.service,
                protocol=SCHEME_PROTOCOL[scheme.lower()],
            )
        try:
            out = conn.context.step(token)
        except Exception as exc:  # a wrong password, an unknown user, a bad ticket
            self.refused.append(f"{scheme}: {type(exc).__name__}: {exc}")
            conn.context = None
            return Verdict(False, self.challenge())
        headers = {"WWW-Authenticate": f"{scheme} {base64.b64encode(out).decode()}"} if out else {}
        if not conn.context.complete:
            return Verdict(False, headers)
        conn.user = str(conn.context.client_principal or "")
        self.accepted.append(f"{scheme}:{conn.user}")
        return Verdict(True, headers, conn.user)

    def _certificate(self, header: str | None, peer_cert: Any) -> Verdict:
        if header != CERT_PROFILE:
            self.refused.append(f"certificate: Authorization {header!r}")
            return Verdict(False, self.challenge())
        upn = upn_of(peer_cert) if peer_cert else None
        user = self.cert_users.get(upn or "")
        if user is None:
            self.refused.append(f"certificate: no mapping for UPN {upn!r}")
            return Verdict(False, self.challenge())
        self.accepted.append(f"Certificate:{user}")
        return Verdict(True, user=user)


def is_encrypted(content_type: str) -> bool:
    return content_type.startswith(("multipart/encrypted", "multipart/x-multi-encrypted"))


def protocol_of(content_type: str) -> str:
    match = re.search(r'protocol="([^"]+)"', content_type)
    return match.group(1) if match else ""


def unwrap(context: Any, body: bytes, credssp: bool) -> bytes:
    """The SOAP text inside an MS-WSMV encrypted body."""
    parts = [p for p in re.split(rb"--Encrypted Boundary(?:--)?\r\n", body) if p]
    message = b""
    for index in range(0, len(parts), 2):
        length = int(parts[index].split(b"Length=")[1].strip())
        payload = parts[index + 1].replace(b"\tContent-Type: application/octet-stream\r\n", b"")
        size = struct.unpack("<i", payload[:4])[0]
        if credssp:
            # CredSSP: the 4 bytes give the TLS trailer length; the rest is TLS records.
            plain = context.unwrap(payload[4:]).data
        else:
            plain = context.unwrap_winrm(payload[4 : 4 + size], payload[4 + size :])
        message += plain[:length]
    return message


def wrap(context: Any, message: bytes, protocol: str, credssp: bool) -> tuple[bytes, str]:
    """An MS-WSMV encrypted body (and its Content-Type) for `message`."""
    if credssp:
        sealed = context.wrap(message).data
        stream = struct.pack("<i", 16) + sealed  # trailer length: GCM suites use 16
    else:
        result = context.wrap_winrm(message)
        stream = struct.pack("<i", len(result.header)) + result.header + result.data
    body = (
        BOUNDARY + b"\r\n\tContent-Type: " + protocol.encode() + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
        + str(len(message)).encode() + b"\r\n" + BOUNDARY
        + b"\r\n\tContent-Type: application/octet-stream\r\n" + stream + BOUNDARY + b"--\r\n"
    )
    content_type = f'multipart/encrypted;protocol="{protocol}";boundary="Encrypted Boundary"'
    return body, content_type


def peer_certificate(sock: Any) -> bytes | None:
    """The client certificate (DER) of a TLS connection, if it sent one."""
    return sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
