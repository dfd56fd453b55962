"""Turn client-library exceptions into TransportErrors a user can act on.

pywinrm, pypsrp, requests and urllib3 each wrap errors differently; this
walks the exception chain once and picks the most specific cause. Messages
never carry a secret: only library texts, the host and its settings.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator

from hvdyn.core.errors import (
    AuthError,
    ConnectError,
    TlsError,
    TransportError,
    TransportTimeout,
    WsmanFault,
)
from hvdyn.transport._options import ConnOptions

# WS-Management / WinRS codes seen from WinRM 2.0.
OPERATION_TIMEOUT = 2150858793  # 0x80338029
QUOTA_MAX_OPERATIONS = 0x803381A6  # ERROR_WSMAN_QUOTA_MAX_OPERATIONS (wmierror)
SHELL_NOT_FOUND = 2150858843  # 0x8033805B: ShellId unknown (idle shell reaped)
MAX_ENVELOPE = 0x80338111
QUOTA_SHELLS = (0x803381A2, 0x803381A4, 0x803381A5)  # shells per user / users / memory
ACCESS_DENIED = 5
ERROR_BUSY = 170

_TLS_VERSION_MARKERS = (
    "PROTOCOL_VERSION",
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "LEGACY_SIGALG",
    "HANDSHAKE_FAILURE",
    "VERSION_TOO_LOW",
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and exceptions held in args (urllib3 wraps this way)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend(a for a in cur.args if isinstance(a, BaseException))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        for nxt in (cur.__cause__, cur.__context__):
            if nxt is not None:
                todo.append(nxt)


# What a TLS client sees when the server refuses its certificate (TLS 1.3 may just close).
_CLIENT_CERT_REFUSED = ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_REQUIRED",
                        "CERTIFICATE_UNKNOWN", "UNSUPPORTED_CERTIFICATE", "EOF OCCURRED")

# SEC_E_LOGON_DENIED in a CredSSP/NTLM TSRequest: the account or password was refused.
LOGON_DENIED = 0x8009030C


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def tls_hint(opts: ConnOptions, text: str) -> str:
    upper = text.upper()
    if "CERTIFICATE_VERIFY_FAILED" in upper or ("HOSTNAME" in upper and "MISMATCH" in upper):
        return (
            "set hvdyn_ca_bundle to the PEM of the CA that signed the listener certificate"
            " (or hvdyn_cert_validation: ignore for a lab host)"
        )
    if "WRONG_VERSION_NUMBER" in upper:
        return f"port {opts.port} does not speak TLS: use scheme http for 5985, https for 5986"
    if opts.tls_min in ("1.0", "1.1"):
        return (
            "the TLS 1.0 context was offered and still refused: check the listener certificate"
            " and the host's SChannel settings"
        )
    return (
        "an untouched 2008 R2 HTTPS listener speaks only TLS 1.0: set hvdyn_tls_min: '1.0'"
        " for this host, or enable TLS 1.2 in SChannel on the host, or use ntlm over HTTP 5985"
    )


def _fault(opts: ConnOptions, code: int | None, wmi: int | None, reason: str) -> TransportError:
    reason = " ".join((reason or "").split())
    ident = f" (code {code:#x})" if code else ""
    if wmi == QUOTA_MAX_OPERATIONS or code == QUOTA_MAX_OPERATIONS:
        hint = "WinRM operation quota reached (hvdyn re-creates the shell); lower --forks"
    elif code in QUOTA_SHELLS or wmi in QUOTA_SHELLS:
        hint = "WinRM 2.0 allows 5 shells per user: lower --forks for this host"
    elif code == MAX_ENVELOPE:
        hint = "lower hvdyn_max_envelope_kb to the host's MaxEnvelopeSizekb"
    elif code == ACCESS_DENIED or "access is denied" in reason.lower():
        hint = "the account must be a local administrator on the host"
    elif code == SHELL_NOT_FOUND:
        hint = "the host dropped the shell (idle timeout or service restart); retry"
    else:
        hint = "see the WinRM event log on the host (Microsoft-Windows-WinRM/Operational)"
    return WsmanFault(opts.host, f"WS-Management fault{ident}: {reason}", hint)


# HTTP auth schemes a host must offer for each of hvdyn's auth settings.
_SCHEMES = {
    "ntlm": ("negotiate", "ntlm"),
    "kerberos": ("negotiate", "kerberos"),
    "credssp": ("credssp",),
    "basic": ("basic",),
}
_SERVICE_AUTH = {"ntlm": "Negotiate", "kerberos": "Kerberos", "credssp": "CredSSP",
                 "basic": "Basic"}

# (pattern in a GSSAPI/krb5 error, what it means, what to do): most specific first.
_KERBEROS = (
    ("clock skew", "the clocks of this machine and the KDC differ by more than 5 minutes",
     "synchronise the clocks (NTP here, w32tm on the domain controller)"),
    (r"server \S* ?not found in kerberos database", "the KDC knows no service principal {spn}",
     "connect by the host's DNS name (the SPN is {service}/<name>, never an IP), set"
     " ansible_winrm_kerberos_hostname_override to that name, or map it to the realm in krb5.conf"
     " [domain_realm]; `setspn -L <computer>` on Windows lists its SPNs"),
    (r"client \S* ?not found in kerberos database", "the KDC does not know the user {user}",
     "set ansible_user to user@REALM with the realm in capitals (e.g. hv@CORP.EXAMPLE)"),
    ("can't find client principal", "no Kerberos ticket for {user} and no password",
     "run `kinit {user}` first, or give a password (hvdyn_password_env, the keyring or"
     " --ask-pass) and hvdyn gets a ticket for this run in memory"),
    ("no credentials cache", "no Kerberos ticket and no password",
     "run `kinit user@REALM` first, or set ansible_user and give a password"),
    ("no kerberos credentials", "no Kerberos ticket and no password",
     "run `kinit user@REALM` first, or set ansible_user and give a password"),
    ("ticket expired", "the Kerberos ticket has expired", "run `kinit` again"),
    ("preauthentication failed", "the KDC refused the password for {user}",
     "check the password (hvdyn_password_env, the keyring or --ask-pass)"),
    ("integrity check failed", "the KDC refused the password for {user}",
     "check the password (hvdyn_password_env, the keyring or --ask-pass)"),
    ("password incorrect", "the KDC refused the password for {user}",
     "check the password (hvdyn_password_env, the keyring or --ask-pass)"),
    ("cannot contact any kdc", "no KDC answered for the realm",
     "check krb5.conf [realms] kdc = ..., DNS SRV records (_kerberos._tcp) and port 88"),
    ("cannot find kdc", "no KDC is configured for the realm",
     "add the realm to krb5.conf [realms], or enable dns_lookup_kdc"),
    ("cannot determine realm", "no realm is known for the host",
     "map the host's domain to its realm in krb5.conf [domain_realm]"),
)


def _offers(offered: str | None, auth: str) -> bool | None:
    """Whether a 401's WWW-Authenticate offered the scheme `auth` needs (None: unknown)."""
    if offered is None or auth not in _SCHEMES:
        return None
    names = {part.strip().split(" ")[0].lower() for part in offered.split(",") if part.strip()}
    return bool(names & set(_SCHEMES[auth]))


# An HTTP auth scheme is a token (RFC 7235); anything else in a 401 is shown escaped.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _not_offered(opts: ConnOptions, offered: str) -> AuthError:
    names = sorted({p.strip().split(" ")[0] for p in offered.split(",") if p.strip()})
    # The 401 comes before any authentication: never pass its text on unescaped.
    listing = ", ".join(n if _TOKEN.fullmatch(n) else ascii(n)
                        for n in names if "=" not in n) or "nothing"
    key = _SERVICE_AUTH.get(opts.auth, opts.auth)
    return AuthError(
        opts.host,
        f"the host does not offer {opts.auth} authentication (it offers: {listing})",
        f"enable it on the host: winrm set winrm/config/service/auth @{{{key}=\"true\"}},"
        " or set ansible_winrm_transport to one it offers",
    )


def _kerberos(opts: ConnOptions, chain: list[BaseException]) -> AuthError | None:
    for cur in chain:
        names = _names(cur)
        if not names & {"SpnegoError", "Krb5Error", "GSSError", "NoCredentialError",
                        "BadMechanismError", "KerberosExchangeError"}:
            continue
        text = str(cur).lower()
        for pattern, what, hint in _KERBEROS:
            if re.search(pattern, text):
                values = {"spn": opts.spn, "service": opts.kerberos_service,
                          "user": opts.user or "user@REALM"}
                return AuthError(opts.host, f"kerberos: {what.format(**values)}",
                                 hint.format(**values))
        detail = " ".join(str(cur).split())[:300]
        return AuthError(opts.host, f"kerberos authentication failed: {detail}",
                         f"check the ticket (klist), the user and the SPN {opts.spn}")
    return None


def classify(
    opts: ConnOptions, exc: BaseException, *, offered: str | None = None
) -> TransportError:
    """The TransportError subclass (with a hint) for an exception from the client stack.

    `offered` is the WWW-Authenticate header of the host's last 401, when one came.
    """
    if isinstance(exc, TransportError):
        return exc
    chain = list(_chain(exc))
    for cur in chain:
        names = _names(cur)
        if isinstance(cur, ssl.SSLError) or "SSLError" in names:
            text = str(cur)
            if opts.auth == "certificate" and any(m in text.upper() for m in _CLIENT_CERT_REFUSED):
                return TlsError(
                    opts.host,
                    f"the host did not accept the client certificate {opts.cert_pem}"
                    f" in the TLS handshake with {opts.endpoint}: {text}",
                    "the certificate's issuer must be in the host's Trusted Root store (and the"
                    " certificate mapped to an account); check hvdyn_cert_pem/hvdyn_cert_key_pem",
                )
            return TlsError(opts.host, f"TLS handshake with {opts.endpoint} failed: {text}",
                            tls_hint(opts, text))
    if opts.auth == "kerberos" and (found := _kerberos(opts, chain)) is not None:
        return found
    for cur in chain:
        names = _names(cur)
        http_401 = getattr(cur, "code", None) == 401 and "WinRMTransportError" in names
        text = str(cur)
        # pypsrp's / requests-credssp's wording when the scheme is missing from the 401
        not_offered = "did not response with one of" in text or "did not response CredSSP" in text
        denied = "NTStatusException" in names and (
            str(LOGON_DENIED) in text or f"{LOGON_DENIED:#x}" in text.lower())
        if (names & {"InvalidCredentialsError", "AuthenticationError"} or http_401
                or not_offered or denied):
            if offered is not None and _offers(offered, opts.auth) is False:
                return _not_offered(opts, offered)
            if opts.auth == "certificate":
                return AuthError(
                    opts.host,
                    "the host refused the client certificate"
                    f" {opts.cert_pem or ''}".rstrip(),
                    "map the certificate to a local account on the host (winrm create"
                    " winrm/config/service/certmapping ...) and enable"
                    " Auth/Certificate; its issuer must be in the host's Trusted Root store",
                )
            who = opts.user or "(no user)"
            return AuthError(
                opts.host,
                f"{opts.auth} authentication as {who} was rejected",
                f"check the user name and the password in ${opts.password_env}"
                " (domain accounts as DOMAIN\\user; basic needs a local account and"
                " Auth/Basic enabled on the service)",
            )
    for cur in chain:
        if isinstance(cur, socket.gaierror) or "NameResolutionError" in _names(cur):
            return ConnectError(
                opts.host,
                f"cannot resolve {opts.address!r}",
                "check the host name, DNS, or set ansible_host to the IP address",
            )
    for cur in chain:
        if isinstance(cur, ConnectionRefusedError) or "refused" in str(cur).lower():
            return ConnectError(
                opts.host,
                f"connection to {opts.address}:{opts.port} refused",
                "WinRM is not listening there: run `winrm quickconfig` on the host"
                + (" (HTTPS needs a listener with a certificate)" if opts.scheme == "https" else "")
                + f" and check the firewall for port {opts.port}",
            )
    for cur in chain:
        names = _names(cur)
        if "ConnectTimeout" in names or "ConnectTimeoutError" in names:
            return ConnectError(
                opts.host,
                f"timed out connecting to {opts.address}:{opts.port}",
                "check the address, routing and the firewall (TCP port open?)",
            )
    for cur in chain:
        names = _names(cur)
        if names & {"ReadTimeout", "ReadTimeoutError", "TimeoutError"} or isinstance(
            cur, socket.timeout
        ):
            return TransportTimeout(
                opts.host,
                f"no answer within {opts.read_timeout_s}s",
                "the host or its WinRM service is overloaded; raise hvdyn_operation_timeout_s",
            )
    for cur in chain:
        names = _names(cur)
        if "WSManFaultError" in names:
            code = getattr(cur, "wsman_fault_code", None)
            if code is None:
                raw = getattr(cur, "code", None)
                code = raw if isinstance(raw, int) else _int_or_none(raw)
            wmi = getattr(cur, "wmierror_code", None)
            reason = str(getattr(cur, "reason", None) or cur)
            return _fault(opts, code, wmi, reason)
        if "WinRMTransportError" in names:
            code = getattr(cur, "code", None)
            return WsmanFault(
                opts.host,
                f"HTTP {code} from {opts.endpoint}",
                "check the port and the path (/wsman); a proxy or another service may answer",
            )
    for cur in chain:
        names = _names(cur)
        if names & {"ConnectionError", "ConnectionResetError", "OSError"}:
            return ConnectError(
                opts.host,
                f"connection to {opts.endpoint} failed: {cur}",
                "check the address, the port and the firewall",
            )
    return ConnectError(opts.host, f"{type(exc).__name__}: {exc}", None)


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def is_shell_gone(exc: BaseException) -> bool:
    """A fault after which a new shell (and a re-run) is the fix."""
    code = getattr(exc, "wsman_fault_code", None)
    wmi = getattr(exc, "wmierror_code", None)
    reason = str(getattr(exc, "reason", "") or "").lower()
    return (
        wmi == QUOTA_MAX_OPERATIONS
        or code in (QUOTA_MAX_OPERATIONS, SHELL_NOT_FOUND)
        or "shell was not found" in reason
        or "shell not found" in reason
    )
