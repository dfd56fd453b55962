"""Host vars the transports read, declared once: name, kind, allowed values, default,
the Ansible plugin options that mean the same (aliases), help.

The inventory checks each var a host sets against its declaration here (at
load, with FILE:LINE:COL), so a value that cannot work never reaches a
transport; `hvdyn.transport.rules` judges the vars together. The transport
modules load pywinrm, pypsrp or the simulator, so the declarations live in
this light module and `hvdyn.transport` assembles the registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

AUTHS = ("ntlm", "kerberos", "credssp", "basic", "certificate", "negotiate")  # negotiate: psrp
NEEDS_PASSWORD = frozenset({"ntlm", "credssp", "basic"})  # and a user; the others need neither
PYWINRM_AUTHS = {"plaintext": "basic", "ssl": "basic"}  # pywinrm's names for basic auth
SCHEMES = ("http", "https")
PORTS = {"http": 5985, "https": 5986}  # WinRM's listeners
CERT_VALIDATION = ("validate", "ignore")
DELIVERIES = ("stdin", "file")
TLS_VERSIONS = ("1.0", "1.1", "1.2")
DEFAULT_PASSWORD_ENV = "HVDYN_PASSWORD"
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
    aliases: tuple[str, ...] = ()  # the Ansible plugin options read when this var is not set

    @property
    def names(self) -> tuple[str, ...]:
        """This var, then its aliases: the first one set wins."""
        return (self.name, *self.aliases)

    def names_for(self, plugin: str) -> tuple[str, ...]:
        """This var, then the aliases one Ansible plugin (winrm, psrp) reads."""
        return (self.name, *(a for a in self.aliases if a.startswith(f"ansible_{plugin}_")))

    def value_in(self, values: Mapping[str, Any], names: tuple[str, ...] = ()) -> Any:
        """The value of the first of `names` (default: all of them) set to something."""
        return next((values[n] for n in names or self.names if values.get(n) is not None), None)

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


def default_port(scheme: str) -> int:
    """The port WinRM listens on for `scheme` (http's for anything but https)."""
    return PORTS["https"] if scheme == "https" else PORTS["http"]


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
WINRM_PORT = _ansible("winrm", "port", Kind.PORT, "port; wins over ansible_port",
                      default=PORTS["https"])
WINRM_VARS = (
    _ansible("winrm", "host", Kind.TEXT, "address; wins over ansible_host"),
    WINRM_PORT,
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
PSRP_AUTH = _ansible("psrp", "auth", Kind.AUTH_LIST, "auth methods, tried in order",
                     allowed=AUTHS, default="negotiate")
PSRP_VARS = (
    _ansible("psrp", "host", Kind.TEXT, "address; wins over ansible_host"),
    _ansible("psrp", "port", Kind.PORT, "port; wins over ansible_port"),
    _ansible("psrp", "protocol", Kind.CHOICE, "http or https (default: https unless port 5985)",
             allowed=SCHEMES),
    PSRP_AUTH,
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

# Where and as whom: the inventory reads these into HostSpec fields, with the
# precedence Ansible's winrm/psrp plugins give them (hvdyn_* wins).
SCHEME = HostVar("hvdyn_scheme", Kind.CHOICE, "http or https", allowed=SCHEMES, default="http",
                 aliases=("ansible_winrm_scheme", "ansible_psrp_protocol"))
AUTH = HostVar("hvdyn_auth", Kind.AUTH_LIST,
               "auth methods tried in order, the next only when the host rejects one",
               allowed=AUTHS, default="ntlm",
               aliases=("ansible_winrm_transport", "ansible_psrp_auth"))
CONNECTION_VARS = (
    SCHEME,
    HostVar("hvdyn_user", Kind.TEXT, "the account (DOMAIN\\user, user@REALM or local)"),
    AUTH,
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
                     default="validate",
                     aliases=("ansible_winrm_server_cert_validation",
                              "ansible_psrp_cert_validation"))
CA_BUNDLE = HostVar("hvdyn_ca_bundle", Kind.PATH,
                    "PEM file with the CA(s) that signed the listener",
                    aliases=("ansible_winrm_ca_trust_path", "ansible_psrp_ca_cert",
                             "ansible_psrp_cert_trust_path"))
ALLOW_UNENCRYPTED = HostVar("hvdyn_allow_unencrypted", Kind.FLAG,
                            "permit basic auth over plain HTTP (lab only)")
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
CERT_PEM = HostVar("hvdyn_cert_pem", Kind.PATH, "client certificate for certificate auth",
                   aliases=("ansible_winrm_cert_pem", "ansible_psrp_certificate_pem"))
CERT_KEY_PEM = HostVar("hvdyn_cert_key_pem", Kind.PATH, "its key (keep it 0600)",
                       aliases=("ansible_winrm_cert_key_pem", "ansible_psrp_certificate_key_pem"))

# How: read by `_options.parse_options` for every real transport.
OPTION_VARS = (
    TLS_MIN,
    CERT_CHECK,
    CA_BUNDLE,
    ALLOW_UNENCRYPTED,
    DELIVERY,
    OPERATION_TIMEOUT,
    MAX_ENVELOPE,
    RECYCLE_AFTER,
    CERT_PEM,
    CERT_KEY_PEM,
    HostVar("hvdyn_credssp_disable_tlsv1_2", Kind.FLAG,
            "CredSSP's inner TLS on a 2008 R2 host without TLS 1.2"),
)
