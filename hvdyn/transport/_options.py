"""Connection options for the real transports, read once from a HostSpec.

`CONNECTION_VARS` and `OPTION_VARS` declare the host vars behind them
(docs/transports.md says when to set which); the inventory refuses a value
that cannot work at load, and `parse_options` checks again for a HostSpec
built another way. ``hvdyn_tls_min`` below 1.2 opts a host into a legacy TLS
context: an untouched 2008 R2 HTTPS listener speaks TLS 1.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hvdyn.core.errors import CredentialError, InputError
from hvdyn.core.model import HostSpec
from hvdyn.transport.hostvars import (
    AUTHS,
    CERT_VALIDATION,
    NEEDS_PASSWORD,
    SCHEMES,
    HostVar,
    Kind,
    flag,
)

__all__ = ["AUTHS", "CONNECTION_VARS", "OPTION_VARS", "ConnOptions", "parse_options",
           "password_for"]

DELIVERIES = ("stdin", "file")
TLS_VERSIONS = ("1.0", "1.1", "1.2")
DEFAULT_PASSWORD_ENV = "HVDYN_PASSWORD"
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")

# Where and as whom: the inventory reads these into HostSpec fields, with the
# precedence Ansible's winrm/psrp plugins give them (hvdyn_* wins).
CONNECTION_VARS = (
    HostVar("hvdyn_scheme", Kind.CHOICE, "http or https", allowed=SCHEMES),
    HostVar("hvdyn_user", Kind.TEXT, "the account (DOMAIN\\user, user@REALM or local)"),
    HostVar("hvdyn_auth", Kind.AUTH_LIST,
            "auth methods tried in order, the next only when the host rejects one",
            allowed=AUTHS),
    HostVar("hvdyn_password_env", Kind.ENV_NAME, "environment variable holding the password",
            default=DEFAULT_PASSWORD_ENV),
    HostVar("ansible_connection", Kind.WORD, "winrm or psrp; any other is not a target"),
    HostVar("ansible_host", Kind.TEXT, "address (default: the inventory name)"),
    HostVar("ansible_port", Kind.PORT, "port (default 5985 for http, 5986 for https)"),
    HostVar("ansible_user", Kind.TEXT, "the account"),
)

TLS_MIN = HostVar("hvdyn_tls_min", Kind.TLS_VERSION,
                  "oldest TLS version accepted; below 1.2 for an untouched 2008 R2 listener",
                  allowed=TLS_VERSIONS)
CERT_CHECK = HostVar("hvdyn_cert_validation", Kind.CHOICE_ANY_CASE,
                     "check the listener certificate", allowed=CERT_VALIDATION,
                     default="validate")
DELIVERY = HostVar("hvdyn_script_delivery", Kind.CHOICE_ANY_CASE,
                   "winrm: script on stdin, or uploaded to a temp file", allowed=DELIVERIES,
                   default="stdin")
OPERATION_TIMEOUT = HostVar("hvdyn_operation_timeout_s", Kind.INTEGER,
                            "WS-Management OperationTimeout, seconds", bounds=(1, 3600),
                            default=20)
MAX_ENVELOPE = HostVar("hvdyn_max_envelope_kb", Kind.INTEGER,
                       "the host's MaxEnvelopeSizekb (150 on WinRM 2.0)", bounds=(32, 8192),
                       default=150)
RECYCLE_AFTER = HostVar("hvdyn_psrp_recycle_after", Kind.INTEGER,
                        "psrp: invocations before a new runspace pool", bounds=(1, 100000),
                        default=100)

# How: read by `parse_options` for every real transport.
OPTION_VARS = (
    TLS_MIN,
    CERT_CHECK,
    HostVar("hvdyn_ca_bundle", Kind.PATH, "PEM file with the CA(s) that signed the listener"),
    HostVar("hvdyn_allow_unencrypted", Kind.FLAG, "permit basic auth over plain HTTP (lab only)"),
    DELIVERY,
    OPERATION_TIMEOUT,
    MAX_ENVELOPE,
    RECYCLE_AFTER,
    HostVar("hvdyn_cert_pem", Kind.PATH, "client certificate for certificate auth"),
    HostVar("hvdyn_cert_key_pem", Kind.PATH, "its key (keep it 0600)"),
    HostVar("hvdyn_credssp_disable_tlsv1_2", Kind.FLAG,
            "CredSSP's inner TLS on a 2008 R2 host without TLS 1.2"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnOptions:
    host: str
    address: str
    port: int
    scheme: str
    auth: str
    user: str | None
    password_env: str
    tls_min: str | None
    cert_validation: str
    ca_bundle: str | None
    allow_unencrypted: bool
    delivery: str
    operation_timeout_s: int
    max_envelope_bytes: int
    recycle_after: int
    cert_pem: str | None
    cert_key_pem: str | None
    credssp_disable_tlsv1_2: bool
    kerberos_hostname: str | None = None
    kerberos_service: str = "HTTP"

    @property
    def spn(self) -> str:
        """The Kerberos service principal hvdyn asks a ticket for: SERVICE/host."""
        return f"{self.kerberos_service}/{self.kerberos_hostname or self.address}"

    @property
    def endpoint(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{address}:{self.port}/wsman"

    @property
    def read_timeout_s(self) -> int:
        # Must exceed the operation timeout (pywinrm refuses otherwise); Ansible uses +10.
        return self.operation_timeout_s + 10

    @property
    def encrypt(self) -> bool:
        """Message encryption over plain HTTP: always, except basic (it cannot)."""
        return self.scheme == "http" and self.auth != "basic"

    @property
    def legacy_tls(self) -> bool:
        return self.scheme == "https" and self.tls_min in ("1.0", "1.1")


def _var(spec: HostSpec, *names: str) -> Any:
    for name in names:
        if name in spec.vars and spec.vars[name] is not None:
            return spec.vars[name]
    return None


def _flag(spec: HostSpec, name: str) -> bool:
    value = _var(spec, name)
    if value is None:
        return False
    parsed = flag(value)
    if parsed is not None:
        return parsed
    raise InputError(f"{spec.name}: host var {name} must be true or false, not {value!r}")


def _choice(spec: HostSpec, value: Any, name: str, allowed: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise InputError(
            f"{spec.name}: host var {name} is {value!r} (allowed: {', '.join(allowed)})"
        )
    return text


def _int(spec: HostSpec, var: HostVar) -> int:
    name, default = var.name, var.default
    assert isinstance(default, int) and var.bounds is not None  # declared so above
    low, high = var.bounds
    value = _var(spec, name)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{spec.name}: host var {name} must be an integer, not {value!r}"
        ) from None
    if not low <= number <= high:
        raise InputError(f"{spec.name}: host var {name} must be in {low}..{high}, not {number}")
    return number


def parse_options(spec: HostSpec) -> ConnOptions:
    """Validate the connection settings of one host; InputError names the var."""
    scheme = _choice(spec, spec.scheme or "http", "scheme", SCHEMES)
    auth = _choice(spec, spec.auth or "ntlm", "ansible_winrm_transport", AUTHS)
    tls_raw = _var(spec, TLS_MIN.name)
    tls_min = None if tls_raw is None else _choice(spec, tls_raw, TLS_MIN.name, TLS_MIN.allowed)
    validation = _choice(
        spec,
        _var(
            spec,
            "hvdyn_cert_validation",
            "ansible_winrm_server_cert_validation",
            "ansible_psrp_cert_validation",
        )
        or CERT_CHECK.default,
        CERT_CHECK.name,
        CERT_CHECK.allowed,
    )
    allow_unencrypted = _flag(spec, "hvdyn_allow_unencrypted")
    if auth == "basic" and scheme == "http" and not allow_unencrypted:
        raise InputError(
            f"{spec.name}: basic auth over plain HTTP sends the password readable on the wire;"
            " use ntlm (encrypted over HTTP 5985), https, or set hvdyn_allow_unencrypted: true"
            " for a lab host"
        )
    if auth == "certificate" and scheme != "https":
        raise InputError(f"{spec.name}: certificate auth needs scheme https (port 5986)")
    cert_pem = _var(
        spec, "hvdyn_cert_pem", "ansible_winrm_cert_pem", "ansible_psrp_certificate_pem"
    )
    cert_key_pem = _var(
        spec, "hvdyn_cert_key_pem", "ansible_winrm_cert_key_pem", "ansible_psrp_certificate_key_pem"
    )
    if auth == "certificate" and not (cert_pem and cert_key_pem):
        raise InputError(
            f"{spec.name}: certificate auth needs hvdyn_cert_pem and hvdyn_cert_key_pem"
        )
    delivery = _choice(
        spec, _var(spec, DELIVERY.name) or DELIVERY.default, DELIVERY.name, DELIVERY.allowed
    )
    ca_bundle = _var(
        spec,
        "hvdyn_ca_bundle",
        "ansible_winrm_ca_trust_path",
        "ansible_psrp_ca_cert",
        "ansible_psrp_cert_trust_path",
    )
    return ConnOptions(
        host=spec.name,
        address=spec.address,
        port=spec.port or (5986 if scheme == "https" else 5985),
        scheme=scheme,
        auth=auth,
        user=spec.user,
        password_env=spec.password_env or DEFAULT_PASSWORD_ENV,
        tls_min=tls_min,
        cert_validation=validation,
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        allow_unencrypted=allow_unencrypted,
        delivery=delivery,
        operation_timeout_s=_int(spec, OPERATION_TIMEOUT),
        max_envelope_bytes=_int(spec, MAX_ENVELOPE) * 1024,
        recycle_after=_int(spec, RECYCLE_AFTER),
        cert_pem=str(cert_pem) if cert_pem else None,
        cert_key_pem=str(cert_key_pem) if cert_key_pem else None,
        credssp_disable_tlsv1_2=_flag(spec, "hvdyn_credssp_disable_tlsv1_2"),
        kerberos_hostname=_text(spec, "ansible_winrm_kerberos_hostname_override",
                                "ansible_psrp_negotiate_hostname_override"),
        kerberos_service=_text(spec, "ansible_winrm_service",
                               "ansible_psrp_negotiate_service") or "HTTP",
    )


def _text(spec: HostSpec, *names: str) -> str | None:
    value = _var(spec, *names)
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if not _NAME_RE.fullmatch(text):
        name = next(n for n in names if spec.vars.get(n) is not None)  # the one the user set
        raise InputError(
            f"{spec.name}: host var {name} is {value!r}: one DNS name or service name"
            " (letters, digits, '.', '-', '_')"
        )
    return text


def password_for(opts: ConnOptions, password: str | None) -> str | None:
    """The resolved password, or a CredentialError saying where hvdyn looked."""
    if opts.user is None and opts.auth in NEEDS_PASSWORD:
        raise CredentialError(
            opts.host,
            f"no user for {opts.auth} authentication",
            "set ansible_user for this host (a local account, DOMAIN\\user or user@REALM)",
        )
    if password is None and opts.auth in NEEDS_PASSWORD:
        raise CredentialError(
            opts.host,
            f"no password for {opts.user or '(no user)'} ({opts.auth})",
            f"export {opts.password_env}, store it in the keyring, or pass --ask-pass",
        )
    return password
