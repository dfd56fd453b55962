"""Host vars -> where and how hvdyn connects, with the meaning Ansible's plugins give them.

Three cases, decided per host:

- ``ansible_connection: winrm`` (ansible-core 2.19 winrm plugin, pywinrm):
  address ``ansible_winrm_host`` > ``ansible_host`` > the name; port
  ``ansible_winrm_port`` > ``ansible_port`` > 5986; scheme
  ``ansible_winrm_scheme``, else http only for port 5985; auth
  ``ansible_winrm_transport`` (a list or ``a,b``), else ``kerberos`` for a
  UPN user (``user@REALM``), else basic (pywinrm's ``ssl``/``plaintext``).
- ``ansible_connection: psrp`` (ansible-core 2.19 psrp plugin, pypsrp):
  ``ansible_psrp_host``/``_port``/``_protocol``/``_auth`` (default
  ``negotiate``)/``_cert_validation``; no port and no protocol is https 5986,
  a port other than 5985 is https.
- a host that says nothing about its connection keeps hvdyn's defaults
  (right for an untouched 2008 R2 host): http 5985, NTLM with message
  encryption, https when ``ansible_port`` is 5986.

``hvdyn_*`` variables override in every case. A host whose
``ansible_connection`` is anything else (ssh, local, ...) is not a target.
Settings that would fail every connection (a TLS version that does not
exist, basic auth over plain HTTP without the opt-in, ...) are errors at
load, with FILE:LINE:COL. Which vars exist and which values they take is
what the transports declare (`hvdyn.transport.HOST_VARS`); this module adds
Ansible's precedence between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hvdyn.core.yamlpos import TaggedText
from hvdyn.inventory.base import Problems, RawHost, Var, Where, has_jinja, is_password_key, log
from hvdyn.transport import HVDYN_VAR_NAMES, TRANSPORT_VAR, host_var, reads
from hvdyn.transport.hostvars import (
    AUTH,
    CERT_CHECK,
    CERT_KEY_PEM,
    CERT_PEM,
    NEEDS_PASSWORD,
    PORTS,
    PSRP_AUTH,
    SCHEME,
    WINRM_PORT,
    auth_list,
    auth_name,
    default_port,
    port_of,
)
from hvdyn.transport.rules import Settings, connection_problems


@dataclass(frozen=True, slots=True)
class Connection:
    """Where and how hvdyn reaches one host; `skipped` says why it does not."""

    transport: str  # winrm | psrp | mock
    address: str
    port: int
    scheme: str
    auth: tuple[str, ...]  # in the order tried
    user: str | None
    cert_validation: str  # validate | ignore
    semantics: str  # "winrm" / "psrp" (Ansible's plugin) or "hvdyn" (hvdyn's defaults)
    skipped: str | None = None


def is_target(host_vars: dict[str, Var]) -> bool:
    """False for a host Ansible reaches another way (ssh, local, ...): only its passwords matter."""
    raw = host_vars.get("ansible_connection")
    if "hvdyn_transport" in host_vars or raw is None or has_jinja(raw.value):
        return True
    return plugin_of({"ansible_connection": raw.value}) in ("winrm", "psrp")


def check_vars(
    host: RawHost, problems: Problems, *, builtin: bool, group: bool = False
) -> dict[str, Var]:
    """The host's vars hvdyn may use; every refusal goes to `problems` at its position.

    Plain-text passwords are refused on every host. Other checks apply to target
    hosts; for vars as written in a group (`group`), Jinja/vault is left to the
    hosts that inherit them.
    """
    kept: dict[str, Var] = {}
    target = group or is_target(host.vars)
    for name, var in host.vars.items():
        tag = var.value.tag if isinstance(var.value, TaggedText) else None
        vault = tag == "!vault"
        if is_password_key(name):
            if vault and not target:
                continue  # encrypted, and for a host hvdyn does not reach: no concern of ours
            what = "a vaulted password" if vault else "a password"
            problems.add(
                var.name_at,
                f"{what} does not belong in this inventory: set hvdyn_password_env to the name of "
                "an environment variable that holds it"
                + (", or read the inventory with --inventory-reader ansible and a vault password"
                   if builtin else ", or encrypt it with ansible-vault"),
                "hvdyn_password_env",
            )
            continue
        if not target:  # kept only to say what it is and why it is skipped
            if name in ("ansible_connection", "ansible_host") and not has_jinja(var.value):
                kept[name] = var
            continue
        jinja = tag != "!unsafe" and has_jinja(var.value)
        if builtin and (vault or jinja):
            if reads(name) and not group:
                feature = "an Ansible Vault value (!vault)" if vault else "a Jinja expression"
                problems.add(
                    var.where,
                    f"{feature} needs Ansible to resolve; the built-in reader never uses its "
                    "literal text: read the inventory with --inventory-reader ansible",
                    "a plain value",
                )
            continue  # a var hvdyn never reads: left out rather than used as literal text
        if name.startswith("hvdyn_") and name not in HVDYN_VAR_NAMES:
            problems.add(var.name_at, f"unknown hvdyn variable {name!r}",
                         ", ".join(HVDYN_VAR_NAMES))
            continue
        problem = value_problem(name, var.value)
        if problem:
            problems.add(var.where, *problem)
            continue
        kept[name] = var
    return kept


def value_problem(name: str, value: Any) -> tuple[str, str] | None:
    """(message, allowed) when a var hvdyn reads has a value that cannot work."""
    declared = host_var(name)
    return None if declared is None else declared.problem(value)


def _last(values: dict[str, Any], *names: str) -> Any:
    """Ansible's rule for an option read from several vars: the last one set wins."""
    found = None
    for name in names:
        if values.get(name) is not None:
            found = values[name]
    return found


def _first(values: dict[str, Any], *names: str) -> Any:
    return next((values[n] for n in names if values.get(n) is not None), None)


def plugin_of(values: dict[str, Any]) -> str | None:
    """'winrm' / 'psrp' for those Ansible connections, the connection's name for others."""
    raw = values.get("ansible_connection")
    if raw is None:
        return None
    name = str(raw).strip()
    return name.removeprefix("ansible.builtin.") if name.startswith("ansible.builtin.") else name


def resolve(name: str, host_vars: dict[str, Var]) -> Connection:
    """The connection settings of one host whose vars passed `check_vars`."""
    values = {k: v.value for k, v in host_vars.items()}
    plugin = plugin_of(values)
    hvdyn_transport = values.get("hvdyn_transport")
    if plugin not in (None, "winrm", "psrp") and hvdyn_transport is None:
        return Connection(
            transport="", address=str(values.get("ansible_host") or name), port=0, scheme="",
            auth=(), user=None, cert_validation="validate", semantics="none",
            skipped=f"ansible_connection is {plugin!r}, not winrm or psrp",
        )
    user = _first(values, "hvdyn_user") or (
        _last(values, "ansible_user", f"ansible_{plugin}_user") if plugin else
        values.get("ansible_user")
    )
    if plugin == "winrm":
        address = _last(values, "ansible_host", "ansible_winrm_host") or name
        port = port_of(_last(values, "ansible_port", "ansible_winrm_port") or WINRM_PORT.default)
        port = port or port_of(WINRM_PORT.default)
        scheme = _first(values, *SCHEME.names_for("winrm")) or (
            "http" if port == PORTS["http"] else "https"
        )
        raw_auth = _first(values, *AUTH.names_for("winrm"))
        if raw_auth is None:
            raw_auth = "kerberos" if user and "@" in str(user) else "basic"
        validation = _first(values, *CERT_CHECK.names_for("winrm"))
    elif plugin == "psrp":
        address = _last(values, "ansible_host", "ansible_psrp_host") or name
        port_raw = _last(values, "ansible_port", "ansible_psrp_port")
        scheme = _first(values, *SCHEME.names_for("psrp"))
        if scheme is None:
            scheme = "https" if port_raw is None or port_of(port_raw) != PORTS["http"] else "http"
        port = port_of(port_raw) or default_port(scheme)
        raw_auth = _first(values, *AUTH.names_for("psrp")) or PSRP_AUTH.default
        validation = _first(values, *CERT_CHECK.names_for("psrp"))
    else:
        address = values.get("ansible_host") or name
        port_given = port_of(values["ansible_port"]) if "ansible_port" in values else None
        scheme = _first(values, *SCHEME.names_for("winrm")) or (
            "https" if port_given == PORTS["https"] else SCHEME.default
        )
        port = port_given or default_port(str(scheme))
        raw_auth = _first(values, *AUTH.names_for("winrm")) or AUTH.default
        validation = _first(values, *CERT_CHECK.names_for("winrm"))
    transport = str(hvdyn_transport or plugin or TRANSPORT_VAR.default)
    auths = [auth_name(a) for a in auth_list(raw_auth)]
    if any(values.get(n) is not None
           for n in (*CERT_PEM.names_for("winrm"), *CERT_KEY_PEM.names_for("winrm"))):
        # pywinrm 0.5: 'ssl' with a client certificate is certificate auth, else basic
        auths = ["certificate" if a.lower() == "ssl" else auth_name(a)
                 for a in auth_list(raw_auth)]
    return Connection(
        transport=transport,
        address=str(address),
        port=int(port or 0),
        scheme=str(scheme),
        auth=tuple(dict.fromkeys(auths)),
        user=None if user is None else str(user),
        cert_validation=str(validation or CERT_CHECK.default).strip().lower(),
        semantics=plugin or "hvdyn",
    )


def check_connection(
    name: str, conn: Connection, host_vars: dict[str, Var], problems: Problems, host_at: Where
) -> None:
    """Errors for settings that fail every connection; a warning when validation is off."""
    if conn.skipped or conn.transport == "mock":
        return

    def at(*names: str) -> Where:
        found = [host_vars[n].where for n in names if n in host_vars]
        return found[0] if found else host_at

    values = {n: var.value for n, var in host_vars.items()}
    settings = Settings(host=name, scheme=conn.scheme, auth=conn.auth, vars=values,
                        transport=conn.transport)
    for problem in connection_problems(settings):
        problems.add(at(*problem.vars), problem.message, problem.allowed)
    if conn.cert_validation == "ignore" and conn.scheme == "https":
        var = next(n for n in CERT_CHECK.names if n in host_vars)
        log.warning(
            "%s: certificate validation is off (%s: ignore): anyone on the path can pose as "
            "this host; set hvdyn_ca_bundle to the CA that signed its certificate instead",
            name, var,
        )


def missing_user(conn: Connection) -> bool:
    """A host that will be asked for a user name and has none (Kerberos/certificate need none)."""
    return (
        not conn.skipped
        and conn.transport != "mock"
        and conn.user is None
        and bool(conn.auth)
        and conn.auth[0] in NEEDS_PASSWORD
    )
