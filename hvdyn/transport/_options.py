"""Connection options for the real transports, read once from a HostSpec.

Host vars (all optional; DESIGN §4/§7, docs/transports.md):

- ``hvdyn_tls_min``: ``"1.0"`` | ``"1.1"`` | ``"1.2"``; below 1.2 opts the host
  into a legacy TLS context (an untouched 2008 R2 HTTPS listener speaks TLS 1.0).
- ``hvdyn_cert_validation``: ``validate`` (default) | ``ignore``.
- ``hvdyn_ca_bundle``: PEM file with the CA(s) that signed the listener certificate.
- ``hvdyn_allow_unencrypted``: permit basic auth over plain HTTP (lab only).
- ``hvdyn_script_delivery``: ``stdin`` (default) | ``file``.
- ``hvdyn_operation_timeout_s``: WS-Management OperationTimeout (default 20).
- ``hvdyn_max_envelope_kb``: the host's MaxEnvelopeSizekb (default 150, WinRM 2.0).
- ``hvdyn_psrp_recycle_after``: PSRP pool invocations before a new pool (default 100).
- ``hvdyn_cert_pem`` / ``hvdyn_cert_key_pem``: client certificate for ``certificate`` auth.
- ``hvdyn_credssp_disable_tlsv1_2``: CredSSP's inner TLS on 2008 R2 without TLS 1.2.
- ``ansible_winrm_kerberos_hostname_override`` (or
  ``ansible_psrp_negotiate_hostname_override``), as in Ansible: the host part
  of the Kerberos SPN when the address is an IP or an alias (default: the
  address).
- ``ansible_winrm_service`` (or ``ansible_psrp_negotiate_service``): the
  service part of the SPN, for both transports (default HTTP).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hvdyn.core.errors import CredentialError, InputError
from hvdyn.core.model import HostSpec

AUTHS = ("ntlm", "kerberos", "credssp", "basic", "certificate", "negotiate")  # negotiate: psrp
NEEDS_PASSWORD = frozenset({"ntlm", "credssp", "basic"})
DELIVERIES = ("stdin", "file")
TLS_VERSIONS = ("1.0", "1.1", "1.2")
DEFAULT_PASSWORD_ENV = "HVDYN_PASSWORD"
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
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise InputError(f"{spec.name}: host var {name} must be true or false, not {value!r}")


def _choice(spec: HostSpec, value: Any, name: str, allowed: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise InputError(
            f"{spec.name}: host var {name} is {value!r} (allowed: {', '.join(allowed)})"
        )
    return text


def _int(spec: HostSpec, name: str, default: int, low: int, high: int) -> int:
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
    scheme = _choice(spec, spec.scheme or "http", "scheme", ("http", "https"))
    auth = _choice(spec, spec.auth or "ntlm", "ansible_winrm_transport", AUTHS)
    tls_raw = _var(spec, "hvdyn_tls_min")
    tls_min = None if tls_raw is None else _choice(spec, tls_raw, "hvdyn_tls_min", TLS_VERSIONS)
    validation = _choice(
        spec,
        _var(
            spec,
            "hvdyn_cert_validation",
            "ansible_winrm_server_cert_validation",
            "ansible_psrp_cert_validation",
        )
        or "validate",
        "hvdyn_cert_validation",
        ("validate", "ignore"),
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
        spec, _var(spec, "hvdyn_script_delivery") or "stdin", "hvdyn_script_delivery", DELIVERIES
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
        operation_timeout_s=_int(spec, "hvdyn_operation_timeout_s", 20, 1, 3600),
        max_envelope_bytes=_int(spec, "hvdyn_max_envelope_kb", 150, 32, 8192) * 1024,
        recycle_after=_int(spec, "hvdyn_psrp_recycle_after", 100, 1, 100000),
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
