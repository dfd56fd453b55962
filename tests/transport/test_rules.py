"""Each connection rule is stated once, and the inventory and parse_options say the same."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from hvdyn.core.errors import InputError
from hvdyn.core.model import HostSpec
from hvdyn.transport import HOST_VARS, host_var
from hvdyn.transport._options import parse_options
from hvdyn.transport.hostvars import CERT_CHECK, default_port
from hvdyn.transport.rules import Problem, Settings, connection_problems

REPO = Path(__file__).resolve().parents[2]

BASIC = ("hv: basic auth over plain HTTP sends the password readable on the wire; use ntlm "
         "(encrypted over HTTP 5985), https (port 5986), or set hvdyn_allow_unencrypted: true "
         "for a lab host")
CERT_HTTPS = "hv: certificate auth needs https (port 5986)"
CERT_FILES = "hv: certificate auth needs hvdyn_cert_pem and hvdyn_cert_key_pem"
FILES = {"hvdyn_cert_pem": "/c.pem", "hvdyn_cert_key_pem": "/c.key"}


def _problems(scheme: str, *auth: str, transport: str | None = None,
              **host_vars: Any) -> list[Problem]:
    return connection_problems(Settings(host="hv", scheme=scheme, auth=auth, vars=host_vars,
                                        transport=transport))


def test_each_rule_says_what_users_see_at_load() -> None:
    assert [p.message for p in _problems("http", "ntlm", "basic")] == [BASIC]
    assert _problems("http", "basic", hvdyn_allow_unencrypted=True) == []
    assert _problems("https", "basic") == []
    assert [p.message for p in _problems("http", "certificate", **FILES)] == [CERT_HTTPS]
    assert [p.message for p in _problems("https", "certificate")] == [CERT_FILES]
    assert [p.message for p in _problems("http", "certificate")] == [CERT_HTTPS, CERT_FILES]
    assert _problems("https", "certificate", ansible_psrp_certificate_pem="/c.pem",
                     ansible_winrm_cert_key_pem="/c.key") == []
    negotiate = _problems("https", "negotiate", transport="winrm")
    assert [p.message for p in negotiate] == ["negotiate auth needs the psrp transport"]
    assert _problems("https", "negotiate", transport="psrp") == []
    assert _problems("https", "negotiate") == []  # a HostSpec built by hand: transport unknown


def test_a_problem_is_placed_at_the_var_that_chose_it_first() -> None:
    basic = _problems("http", "basic")[0]
    assert basic.vars == (
        "hvdyn_auth", "ansible_winrm_transport", "ansible_psrp_auth", "hvdyn_scheme",
        "ansible_winrm_scheme", "ansible_psrp_protocol", "ansible_winrm_port",
        "ansible_psrp_port", "ansible_port", "ansible_connection")
    certificate = _problems("http", "certificate")[0]
    assert certificate.vars == ("hvdyn_auth", "ansible_winrm_transport", "ansible_psrp_auth",
                                "ansible_user", "ansible_connection")
    assert all(host_var(name) for p in _problems("http", "basic", "certificate") for name in p.vars)


@pytest.mark.parametrize(("auth", "scheme", "host_vars", "message"), [
    ("basic", "http", {}, BASIC),
    ("certificate", "http", FILES, CERT_HTTPS),
    ("certificate", "https", {"hvdyn_cert_pem": "/c.pem"}, CERT_FILES),
])
def test_parse_options_raises_the_inventory_words(
    auth: str, scheme: str, host_vars: dict[str, Any], message: str
) -> None:
    spec = HostSpec(name="hv", address="hv01", scheme=scheme, auth=auth, vars=host_vars)
    with pytest.raises(InputError) as caught:
        parse_options(spec)
    assert str(caught.value) == message


def test_declared_aliases_and_defaults_are_what_parse_options_uses() -> None:
    spec = HostSpec(name="hv", address="hv01", scheme="https", auth="certificate", vars={
        "ansible_psrp_certificate_pem": "/p.pem", "ansible_winrm_cert_key_pem": "/w.key",
        "ansible_psrp_cert_validation": "IGNORE", "ansible_psrp_cert_trust_path": "/ca.pem"})
    opts = parse_options(spec)
    assert (opts.cert_pem, opts.cert_key_pem, opts.cert_validation, opts.ca_bundle) == (
        "/p.pem", "/w.key", "ignore", "/ca.pem")
    bare = parse_options(HostSpec(name="hv", address="hv01", scheme="", auth=""))
    assert (bare.scheme, bare.auth, bare.port, bare.cert_validation) == (
        "http", "ntlm", 5985, CERT_CHECK.default)
    assert (default_port("http"), default_port("https")) == (5985, 5986)


def test_every_alias_is_a_declared_var_of_the_plugin_it_names() -> None:
    for var in HOST_VARS:
        for alias in var.aliases:
            assert host_var(alias) is not None and alias.startswith(("ansible_winrm_",
                                                                     "ansible_psrp_")), alias
        assert var.names_for("winrm") + var.names_for("psrp")[1:] == var.names


def test_no_module_writes_an_alias_list_again() -> None:
    """Two names of one var's family quoted in one module is a second copy of the list."""
    families = [set(var.names) for var in HOST_VARS if var.aliases]
    offenders = []
    for path in sorted((REPO / "hvdyn").rglob("*.py")):
        if path.name == "hostvars.py":
            continue
        quoted = set(re.findall(r'"((?:hvdyn|ansible)_[a-z0-9_]+)"', path.read_text()))
        offenders += [f"{path.name}: {sorted(f & quoted)}" for f in families if len(f & quoted) > 1]
    assert offenders == []
