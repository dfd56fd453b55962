"""Authentication set-up shared by the pywinrm and pypsrp transports.

- Kerberos goes through pyspnego/GSSAPI for both libraries (the optional
  ``hvdyn[kerberos]`` extra). pywinrm's own Kerberos path needs pykerberos
  and a ticket already in the default cache; here, with a password, pyspnego
  gets a ticket into a private in-memory credential cache for this
  connection, so the password is never written anywhere and the user's
  cache is never touched; without a password the user's ticket is used.
- `SessionObserver` watches every HTTP exchange of a session: the auth
  schemes a host offers on a 401, the scheme hvdyn answered with, whether
  bodies went out encrypted, the TLS version; `hvdyn ping` reports them.
- `first_reachable` turns a credential problem into "connection refused"
  when nothing listens, so the first message names the first problem.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from hvdyn.core.errors import CredentialError, TransportError
from hvdyn.transport._errors import classify
from hvdyn.transport._options import ConnOptions
from hvdyn.transport._tls import RequestCounter

KERBEROS_EXTRA = (
    "install the Kerberos extra: pip install 'hvdyn[kerberos]' (it builds python-gssapi;"
    " on Debian/Ubuntu first: apt-get install krb5-user libkrb5-dev gcc python3-dev)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Security:
    """How a connection was protected, as `hvdyn ping` reports it."""

    auth: str  # the mechanism that succeeded: ntlm, kerberos, credssp, basic, certificate
    message_encryption: bool  # bodies wrapped with the auth's session keys (HTTP)
    tls_version: str | None  # e.g. "TLSv1.2" on https, None on http
    spn: str | None  # Kerberos only: the service principal of the ticket

    def describe(self) -> str:
        if self.message_encryption:
            protection = f"messages encrypted ({self.auth} session keys)"
        elif self.tls_version:
            protection = f"protected by {self.tls_version}"
        else:
            protection = "NOT encrypted"
        spn = f", SPN {self.spn}" if self.spn else ""
        return f"{self.auth}{spn}, {protection}"


class SessionObserver(RequestCounter):
    """Counts requests and notes what each exchange says about auth and protection."""

    def __init__(self) -> None:
        super().__init__()
        self.offered: str | None = None  # WWW-Authenticate of the last 401
        self.scheme: str | None = None  # Authorization scheme hvdyn sent last
        self.encrypted = False
        self.tls_version: str | None = None
        self.session: Any = None

    def wrap(self, adapter: Any) -> None:
        original = adapter.send

        def send(request: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            header = request.headers.get("Authorization")
            if isinstance(header, bytes):
                header = header.decode("ascii", "replace")
            if header:
                self.scheme = "certificate" if header.startswith("http") else header.split()[0]
            if str(request.headers.get("Content-Type", "")).startswith("multipart/"):
                self.encrypted = True
            response = original(request, *args, **kwargs)
            if response.status_code == 401:
                self.offered = response.headers.get("WWW-Authenticate", "")
            sock = getattr(getattr(response.raw, "connection", None), "sock", None)
            version = getattr(sock, "version", None)
            if callable(version):
                self.tls_version = version() or self.tls_version
            return response

        adapter.send = send

    def security(self, opts: ConnOptions) -> Security:
        auth = negotiated_protocol(getattr(self.session, "auth", None)) or opts.auth
        return Security(
            auth=auth,
            message_encryption=self.encrypted,
            tls_version=self.tls_version if opts.scheme == "https" else None,
            spn=opts.spn if auth == "kerberos" else None,
        )


def negotiated_protocol(auth: Any) -> str | None:
    """What a pyspnego-based requests auth settled on (Negotiate may pick NTLM)."""
    contexts = getattr(auth, "contexts", None)
    if isinstance(contexts, dict):
        for context in contexts.values():
            protocol = getattr(context, "negotiated_protocol", None)
            if isinstance(protocol, str) and protocol:
                return protocol.lower()
    if getattr(auth, "session_security", None) is not None:
        return "ntlm"  # requests_ntlm
    return None


def require_kerberos(opts: ConnOptions) -> None:
    """A CredentialError naming the extra when GSSAPI is not installed."""
    try:
        import gssapi  # noqa: F401
        import krb5  # noqa: F401
    except ImportError as exc:
        raise CredentialError(opts.host, f"kerberos authentication is not available ({exc})",
                              KERBEROS_EXTRA) from None


def pywinrm_kerberos_auth(opts: ConnOptions, password: str | None) -> Any:
    """A requests auth for pywinrm's session: pyspnego Kerberos, with WinRM wrapping."""
    from pypsrp.negotiate import HTTPNegotiateAuth

    class KerberosAuth(HTTPNegotiateAuth):
        """pywinrm's Encryption calls wrap_winrm/unwrap_winrm on the session's auth."""

        winrm_encryption_available = True

        def _context(self) -> Any:
            return next(iter(self.contexts.values()))

        def wrap_winrm(self, host: Any, message: bytes) -> tuple[bytes, bytes]:
            result = self._context().wrap_winrm(message)
            return result.data, result.header

        def unwrap_winrm(self, host: Any, message: bytes, header: bytes) -> bytes:
            data: bytes = self._context().unwrap_winrm(header, message)
            return data

    return KerberosAuth(
        username=opts.user,
        password=password,
        auth_provider="kerberos",
        service=opts.kerberos_service,
        hostname_override=opts.kerberos_hostname,
        wrap_required=opts.encrypt,
    )


def first_reachable(opts: ConnOptions, problem: TransportError) -> TransportError:
    """`problem`, unless the port does not answer: then the connection error comes first."""
    try:
        probe = socket.create_connection((opts.address, opts.port),
                                         timeout=min(5, opts.read_timeout_s))
        probe.close()
    except OSError as exc:
        return classify(opts, exc)
    return problem
