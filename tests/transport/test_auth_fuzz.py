"""Hostile auth input: any WWW-Authenticate header, any SPN override value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from winrm.exceptions import InvalidCredentialsError

from hvdyn.core.errors import AuthError, InputError
from hvdyn.core.model import HostSpec
from hvdyn.transport._errors import classify
from hvdyn.transport._options import AUTHS, parse_options


def _spec(auth: str, **host_vars: object) -> HostSpec:
    extra: dict[str, object] = {"hvdyn_allow_unencrypted": True}
    if auth == "certificate":
        extra.update(hvdyn_cert_pem="/c.pem", hvdyn_cert_key_pem="/c.key")
    extra.update(host_vars)
    return HostSpec(name="hv", address="hv01.corp.example", user="u",
                    scheme="https" if auth == "certificate" else "http", auth=auth, vars=extra)


@settings(max_examples=300, deadline=None)
@given(auth=st.sampled_from(AUTHS), offered=st.text(max_size=200))
def test_any_offered_header_gives_an_auth_error(auth: str, offered: str) -> None:
    opts = parse_options(_spec(auth))
    error = classify(opts, InvalidCredentialsError("rejected"), offered=offered)
    assert isinstance(error, AuthError)
    assert error.host == "hv" and str(error).startswith("hv: ")


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=80))
def test_spn_override_is_one_clean_name_or_an_input_error(value: str) -> None:
    try:
        opts = parse_options(_spec("kerberos", ansible_winrm_kerberos_hostname_override=value))
    except InputError as exc:
        assert "ansible_winrm_kerberos_hostname_override" in str(exc)
        return
    host = opts.spn.split("/", 1)[1]
    assert opts.spn.startswith("HTTP/") and host
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in host)


def test_bad_spn_setting_names_the_var_the_inventory_set() -> None:
    """The error names the variable the user wrote, not its alias they never used."""
    for var in ("ansible_psrp_negotiate_hostname_override", "ansible_psrp_negotiate_service",
                "ansible_winrm_service"):
        with pytest.raises(InputError) as caught:
            parse_options(_spec("kerberos", **{var: "a b"}))
        assert f"host var {var} is 'a b'" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(offered=st.text(max_size=200))
def test_an_offered_header_never_puts_control_characters_in_the_error(offered: str) -> None:
    """The 401 comes before authentication: its text must not reach terminals, logs or
    reports as control characters (escape sequences)."""
    opts = parse_options(_spec("ntlm"))
    error = classify(opts, InvalidCredentialsError("rejected"), offered=offered)
    assert all(c.isprintable() for c in str(error)), repr(str(error))
