"""Host vars the transports read, declared once: name, kind, allowed values, default, help.

The inventory checks each var a host sets against its declaration here (at
load, with FILE:LINE:COL), so a value that cannot work never reaches a
transport. The transport modules load pywinrm, pypsrp or the simulator, so
the declarations live in light modules: this one for the winrm, psrp and
mock transports' own vars, `_options` for the options every real transport
reads, and `hvdyn.transport` assembles the registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

AUTHS = ("ntlm", "kerberos", "credssp", "basic", "certificate", "negotiate")  # negotiate: psrp
NEEDS_PASSWORD = frozenset({"ntlm", "credssp", "basic"})  # and a user; the others need neither
PYWINRM_AUTHS = {"plaintext": "basic", "ssl": "basic"}  # pywinrm's names for basic auth
SCHEMES = ("http", "https")
CERT_VALIDATION = ("validate", "ignore")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class Kind(Enum):
    """What a var's value must be; `PATH` and `WORD` are checked when a transport uses them."""

    TEXT = "a non-empty string"
    ENV_NAME = "an environment variable name"
    CHOICE = "one of the allowed values, as written"
    CHOICE_ANY_CASE = "one of the allowed values, any case"
    TLS_VERSION = "a TLS version"
    AUTH_LIST = "auth methods: a list or 'a,b'"
    PORT = "a TCP port"
    INTEGER = "an integer within bounds"
    FLAG = "true or false"
    PATH = "a file path"
    WORD = "a name"


@dataclass(frozen=True, slots=True)
class HostVar:
    """One host var a transport reads (as a pyinfra connector declares its data keys)."""

    name: str
    kind: Kind
    help: str
    allowed: tuple[str, ...] = ()
    bounds: tuple[int, int] | None = None
    default: str | int | None = None

    def problem(self, value: Any) -> tuple[str, str] | None:
        """(message, allowed) when `value` cannot work; None when it can or is checked later."""
        text = str(value).strip().lower() if isinstance(value, str | int | float) else None
        allowed = ", ".join(self.allowed)
        kind = self.kind
        if kind is Kind.CHOICE and value not in self.allowed:
            return f"unsupported value {value!r}", allowed
        if kind is Kind.CHOICE_ANY_CASE and text not in self.allowed:
            return f"unsupported value {value!r}", allowed
        if kind is Kind.TLS_VERSION and (text is None or text not in self.allowed):
            return f"not a TLS version hvdyn can use: {value!r}", allowed
        if kind is Kind.AUTH_LIST:
            items = auth_list(value)
            bad = [a for a in items if auth_name(a) not in self.allowed]
            if bad or not items:
                return f"unsupported value {value!r}", allowed
        if kind is Kind.PORT and port_of(value) is None:
            return f"not a TCP port: {value!r}", "1..65535"
        if kind is Kind.ENV_NAME and not (isinstance(value, str) and _ENV_NAME_RE.match(value)):
            return f"not an environment variable name: {value!r}", "e.g. HVDYN_PASSWORD"
        if kind is Kind.TEXT and (not isinstance(value, str) or not value.strip()):
            return f"expected a non-empty string, got {value!r}", "a string"
        if kind is Kind.FLAG and flag(value) is None:
            return f"not true or false: {value!r}", "true, false"
        if kind is Kind.INTEGER and self.bounds is not None:
            low, high = self.bounds
            if port_of(value, low, high) is None:
                return f"not an integer in {low}..{high}: {value!r}", f"{low}..{high}"
        return None


def flag(value: Any) -> bool | None:
    """A boolean as Ansible's `bool` option type reads it; None when it is neither."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def port_of(value: Any, low: int = 1, high: int = 65535) -> int | None:
    """An integer as Ansible's `integer` option type reads it (1, "1", 1.0), within bounds."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value) if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        try:
            as_float = float(str(value))
        except ValueError:
            return None
        if not as_float.is_integer():
            return None
        number = int(as_float)
    return number if low <= number <= high else None


def auth_list(value: Any) -> list[str]:
    """Ansible's `list` option type: a list as is, a string split on commas."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def auth_name(name: str) -> str:
    """hvdyn's name for an auth method (pywinrm's `ssl`/`plaintext` are basic)."""
    return PYWINRM_AUTHS.get(name.lower(), name.lower())


def _ansible(plugin: str, option: str, kind: Kind, help: str, *, allowed: tuple[str, ...] = (),
             default: str | int | None = None) -> HostVar:
    return HostVar(f"ansible_{plugin}_{option}", kind, help, allowed=allowed, default=default)


# As Ansible's winrm connection plugin reads them (ansible-core 2.19, pywinrm).
WINRM_VARS = (
    _ansible("winrm", "host", Kind.TEXT, "address; wins over ansible_host"),
    _ansible("winrm", "port", Kind.PORT, "port; wins over ansible_port", default=5986),
    _ansible("winrm", "scheme", Kind.CHOICE, "http or https (default: http only for port 5985)",
             allowed=SCHEMES),
    _ansible("winrm", "transport", Kind.AUTH_LIST, "auth methods, tried in order", allowed=AUTHS),
    _ansible("winrm", "user", Kind.TEXT, "user; wins over ansible_user"),
    _ansible("winrm", "server_cert_validation", Kind.CHOICE_ANY_CASE,
             "check the listener certificate", allowed=CERT_VALIDATION, default="validate"),
    _ansible("winrm", "cert_pem", Kind.PATH, "client certificate (certificate auth)"),
    _ansible("winrm", "cert_key_pem", Kind.PATH, "client certificate key (certificate auth)"),
    _ansible("winrm", "ca_trust_path", Kind.PATH, "CA bundle for the listener certificate"),
    _ansible("winrm", "kerberos_hostname_override", Kind.WORD,
             "host part of the Kerberos SPN (default: the address)"),
    _ansible("winrm", "service", Kind.WORD, "service part of the Kerberos SPN", default="HTTP"),
)

# As Ansible's psrp connection plugin reads them (ansible-core 2.19, pypsrp).
PSRP_VARS = (
    _ansible("psrp", "host", Kind.TEXT, "address; wins over ansible_host"),
    _ansible("psrp", "port", Kind.PORT, "port; wins over ansible_port"),
    _ansible("psrp", "protocol", Kind.CHOICE, "http or https (default: https unless port 5985)",
             allowed=SCHEMES),
    _ansible("psrp", "auth", Kind.AUTH_LIST, "auth methods, tried in order", allowed=AUTHS,
             default="negotiate"),
    _ansible("psrp", "user", Kind.TEXT, "user; wins over ansible_user"),
    _ansible("psrp", "cert_validation", Kind.CHOICE_ANY_CASE, "check the listener certificate",
             allowed=CERT_VALIDATION, default="validate"),
    _ansible("psrp", "certificate_pem", Kind.PATH, "client certificate (certificate auth)"),
    _ansible("psrp", "certificate_key_pem", Kind.PATH,
             "client certificate key (certificate auth)"),
    _ansible("psrp", "ca_cert", Kind.PATH, "CA bundle for the listener certificate"),
    _ansible("psrp", "cert_trust_path", Kind.PATH, "CA bundle for the listener certificate"),
    _ansible("psrp", "negotiate_hostname_override", Kind.WORD,
             "host part of the Kerberos SPN (default: the address)"),
    _ansible("psrp", "negotiate_service", Kind.WORD, "service part of the Kerberos SPN",
             default="HTTP"),
)

MOCK_VARS = (
    HostVar("hvdyn_mock_fixture", Kind.TEXT,
            "the simulated host's fixture file, relative to the inventory"),
)
