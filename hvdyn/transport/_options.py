"""Connection options for the real transports, read once from a HostSpec.

`hostvars.CONNECTION_VARS` and `hostvars.OPTION_VARS` declare the host vars
behind them (docs/transports.md says when to set which); the inventory
refuses a value that cannot work at load, and `parse_options` checks again,
with the same `rules`, for a HostSpec built another way. ``hvdyn_tls_min``
below 1.2 opts a host into a legacy TLS context: an untouched 2008 R2 HTTPS
listener speaks TLS 1.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hvdyn.core.errors import CredentialError, InputError
from hvdyn.core.model import HostSpec
from hvdyn.transport.hostvars import (
    ALLOW_UNENCRYPTED,
    AUTH,
    AUTHS,
    CA_BUNDLE,
    CERT_CHECK,
    CERT_KEY_PEM,
    CERT_PEM,
    DEFAULT_PASSWORD_ENV,
    DELIVERY,
    MAX_ENVELOPE,
    NEEDS_PASSWORD,
    OPERATION_TIMEOUT,
    RECYCLE_AFTER,
    SCHEME,
    TLS_MIN,
    HostVar,
    default_port,
    flag,
)
from hvdyn.transport.rules import Settings, connection_problems

__all__ = ["AUTHS", "ConnOptions", "parse_options", "password_for"]

_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")


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
    scheme = _choice(spec, spec.scheme or SCHEME.default, "scheme", SCHEME.allowed)
    auth = _choice(spec, spec.auth or AUTH.default, "ansible_winrm_transport", AUTH.allowed)
    tls_raw = _var(spec, TLS_MIN.name)
    tls_min = None if tls_raw is None else _choice(spec, tls_raw, TLS_MIN.name, TLS_MIN.allowed)
    validation = _choice(
        spec, CERT_CHECK.value_in(spec.vars) or CERT_CHECK.default, CERT_CHECK.name,
        CERT_CHECK.allowed,
    )
    allow_unencrypted = _flag(spec, ALLOW_UNENCRYPTED.name)
    settings = Settings(host=spec.name, scheme=scheme, auth=(auth,), vars=spec.vars)
    for problem in connection_problems(settings):
        raise InputError(problem.message)
    cert_pem = CERT_PEM.value_in(spec.vars)
    cert_key_pem = CERT_KEY_PEM.value_in(spec.vars)
    delivery = _choice(
        spec, _var(spec, DELIVERY.name) or DELIVERY.default, DELIVERY.name, DELIVERY.allowed
    )
    ca_bundle = CA_BUNDLE.value_in(spec.vars)
    return ConnOptions(
        host=spec.name,
        address=spec.address,
        port=spec.port or default_port(scheme),
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
