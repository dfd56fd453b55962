"""The host vars the transports declare are the ones hvdyn reads, documents and refuses by."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hvdyn.transport import HOST_VARS, HVDYN_VAR_NAMES, TRANSPORT_NAMES, host_var, reads
from hvdyn.transport.hostvars import Kind

REPO = Path(__file__).resolve().parents[2]
# Modules that read host vars by name: each name they quote must be declared.
READERS = ("hvdyn/transport/_options.py", "hvdyn/transport/rules.py",
           "hvdyn/inventory/connection.py",
           "hvdyn/inventory/__init__.py")


def test_each_var_is_declared_once() -> None:
    names = [var.name for var in HOST_VARS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("path", READERS)
def test_every_var_read_by_name_is_declared(path: str) -> None:
    quoted = set(re.findall(r'"((?:hvdyn|ansible)_[a-z0-9_]+)"', (REPO / path).read_text()))
    assert sorted(name for name in quoted if host_var(name) is None) == []


def test_every_declared_var_is_documented() -> None:
    docs = "".join(p.read_text(encoding="utf-8") for p in [*REPO.glob("docs/*.md"),
                                                            REPO / "README.md"])
    assert [var.name for var in HOST_VARS if var.name not in docs] == []


def test_declarations_say_what_they_allow() -> None:
    for var in HOST_VARS:
        assert var.help, var.name
        if var.kind in (Kind.CHOICE, Kind.CHOICE_ANY_CASE, Kind.TLS_VERSION, Kind.AUTH_LIST):
            assert var.allowed, var.name
        if var.kind is Kind.INTEGER:
            assert var.bounds and isinstance(var.default, int), var.name


def test_the_registry_lists_transports_and_hvdyn_vars_in_their_documented_order() -> None:
    assert TRANSPORT_NAMES == ("winrm", "psrp", "mock")
    transport = host_var("hvdyn_transport")
    assert transport is not None and transport.allowed == TRANSPORT_NAMES
    assert HVDYN_VAR_NAMES[:6] == ("hvdyn_transport", "hvdyn_scheme", "hvdyn_user", "hvdyn_auth",
                                   "hvdyn_password_env", "hvdyn_mock_fixture")


def test_reads_covers_declared_vars_and_the_plugins_other_options() -> None:
    assert all(reads(var.name) for var in HOST_VARS)
    assert reads("ansible_winrm_operation_timeout_sec") and reads("hvdyn_typo")
    assert not reads("ansible_python_interpreter")
