"""Connection settings that fail every connection, each rule stated once.

The inventory asks at load and places each `Problem` at the first of its
vars the host sets (FILE:LINE:COL); `_options.parse_options` asks again for
a HostSpec built another way and raises the first one. Both show the same
words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hvdyn.transport.hostvars import ALLOW_UNENCRYPTED, AUTH, CERT_KEY_PEM, CERT_PEM, SCHEME, flag

# Where a problem with the auth method is shown: the var that chose it, else the user or
# connection that implied it (Ansible's winrm plugin picks kerberos for user@REALM).
_AUTH_CHOSEN_BY = (*AUTH.names, "ansible_user", "ansible_connection")
_SCHEME_CHOSEN_BY = (*SCHEME.names, "ansible_winrm_port", "ansible_psrp_port", "ansible_port",
                     "ansible_connection")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """One host's resolved connection, as the rules judge it."""

    host: str
    scheme: str
    auth: tuple[str, ...]  # every method that may be tried
    vars: Mapping[str, Any]  # the host's vars, for the opt-ins and file paths
    transport: str | None = None  # None: not known (a HostSpec built by hand says winrm)


@dataclass(frozen=True, slots=True)
class Problem:
    """A setting that cannot work: the vars that made it (the first one set is shown), why
    (most messages start with the host's name), and what would do."""

    vars: tuple[str, ...]
    message: str
    allowed: str


ConnectionRule = Callable[[Settings], Problem | None]  # not core.findings.Rule: no id, no severity


def negotiate_needs_psrp(settings: Settings) -> Problem | None:
    if "negotiate" in settings.auth and settings.transport not in (None, "psrp"):
        return Problem(_AUTH_CHOSEN_BY, "negotiate auth needs the psrp transport",
                       "ntlm, kerberos, credssp, basic, certificate")
    return None


def basic_needs_encryption(settings: Settings) -> Problem | None:
    allowed = flag(settings.vars.get(ALLOW_UNENCRYPTED.name) or False)
    if "basic" in settings.auth and settings.scheme == "http" and not allowed:
        return Problem(
            (*AUTH.names, *_SCHEME_CHOSEN_BY),
            f"{settings.host}: basic auth over plain HTTP sends the password readable on the "
            "wire; use ntlm (encrypted over HTTP 5985), https (port 5986), or set "
            f"{ALLOW_UNENCRYPTED.name}: true for a lab host",
            "ntlm, kerberos, https",
        )
    return None


def certificate_needs_https(settings: Settings) -> Problem | None:
    if "certificate" in settings.auth and settings.scheme != "https":
        return Problem(_AUTH_CHOSEN_BY,
                       f"{settings.host}: certificate auth needs https (port 5986)", "https")
    return None


def certificate_needs_files(settings: Settings) -> Problem | None:
    pem, key = CERT_PEM.value_in(settings.vars), CERT_KEY_PEM.value_in(settings.vars)
    if "certificate" in settings.auth and not (pem and key):
        return Problem(
            _AUTH_CHOSEN_BY,
            f"{settings.host}: certificate auth needs {CERT_PEM.name} and {CERT_KEY_PEM.name}",
            "paths to PEM files",
        )
    return None


RULES: tuple[ConnectionRule, ...] = (
    negotiate_needs_psrp, basic_needs_encryption, certificate_needs_https, certificate_needs_files)


def connection_problems(settings: Settings) -> list[Problem]:
    """Every rule `settings` break, in the order above."""
    return [problem for rule in RULES if (problem := rule(settings)) is not None]
