"""Inventory loading: inheritance, groups, typed vars, refusals; --limit selection."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hvdyn.core.errors import InputError, InventoryError, MultipleInputErrors
from hvdyn.inventory import Inventory, load_inventory, select_hosts

FLEET = """\
all:
  vars:
    hvdyn_transport: winrm
    ansible_user: CORP\\hvadmin
    hvdyn_password_env: HVDYN_PASSWORD
    ansible_winrm_transport: ntlm
    tier: all
  children:
    hyperv:
      vars: {tier: hyperv, site: ams}
      children:
        vdi-hosts:
          vars: {tier: vdi}
          hosts:
            hv01.corp.example: {ansible_host: 10.0.0.11}
            hv02.corp.example:
        sql-hosts:
          hosts:
            hv02.corp.example: {ansible_port: 5986, tier: host}
            hv03.corp.example: {ansible_winrm_scheme: https, hvdyn_auth: kerberos}
    lab:
      hosts:
        sim01: {hvdyn_transport: mock, hvdyn_mock_fixture: fixtures/sim01.yaml}
"""


def write(tmp_path: Path, text: str, name: str = "hosts.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def fleet(tmp_path: Path) -> Inventory:
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "sim01.yaml").write_text("vms: []\n")
    return load_inventory(write(tmp_path, FLEET))


def test_hosts_typed(fleet: Inventory, tmp_path: Path) -> None:
    hv01 = fleet.hosts["hv01.corp.example"]
    assert hv01.address == "10.0.0.11"
    assert hv01.transport == "winrm" and hv01.auth == "ntlm" and hv01.scheme == "http"
    assert hv01.user == "CORP\\hvadmin" and hv01.password_env == "HVDYN_PASSWORD"
    assert hv01.port == 5985 and hv01.mock_fixture is None
    hv03 = fleet.hosts["hv03.corp.example"]
    assert hv03.address == "hv03.corp.example"
    assert hv03.scheme == "https" and hv03.auth == "kerberos"
    sim = fleet.hosts["sim01"]
    assert sim.transport == "mock"
    assert sim.mock_fixture == str((tmp_path / "fixtures" / "sim01.yaml").resolve())


def test_vars_inherit_child_over_parent_host_over_group(fleet: Inventory) -> None:
    hv01 = fleet.hosts["hv01.corp.example"]
    assert hv01.vars["tier"] == "vdi"  # child group over parent over all
    assert hv01.vars["site"] == "ams"  # inherited from grandparent group
    assert fleet.hosts["hv03.corp.example"].vars["tier"] == "hyperv"
    assert fleet.hosts["sim01"].vars["tier"] == "all"
    assert fleet.hosts["hv02.corp.example"].vars["tier"] == "host"  # host var wins


def test_host_in_several_groups_is_one_host(fleet: Inventory) -> None:
    hv02 = fleet.hosts["hv02.corp.example"]
    assert hv02.groups == ("hyperv", "sql-hosts", "vdi-hosts")
    assert hv02.port == 5986 and hv02.scheme == "https"  # 5986 implies https
    assert sorted(fleet.hosts) == [
        "hv01.corp.example",
        "hv02.corp.example",
        "hv03.corp.example",
        "sim01",
    ]
    assert fleet.groups["hyperv"] == (
        "hv01.corp.example",
        "hv02.corp.example",
        "hv03.corp.example",
    )
    assert fleet.groups["all"] == tuple(sorted(fleet.hosts))


def test_deep_nesting_and_same_group_in_two_places(tmp_path: Path) -> None:
    inv = load_inventory(
        write(
            tmp_path,
            """\
            all:
              vars: {v: 0}
              children:
                a:
                  vars: {v: 1}
                  children:
                    b:
                      vars: {v: 2}
                      children:
                        c:
                          vars: {v: 3}
                          hosts: {h1: }
                x:
                  children:
                    c:
                      hosts: {h2: {v: 9}}
            """,
        )
    )
    assert inv.hosts["h1"].groups == ("a", "b", "c", "x")
    assert inv.hosts["h1"].vars["v"] == 3
    assert inv.hosts["h2"].vars["v"] == 9
    assert inv.groups["c"] == ("h1", "h2")


def _first_error(path: Path) -> InventoryError:
    with pytest.raises(InputError) as info:
        load_inventory(path)
    exc = info.value
    errors = exc.errors if isinstance(exc, MultipleInputErrors) else [exc]
    first = errors[0]
    assert isinstance(first, InventoryError)
    return first


@pytest.mark.parametrize("var", ["ansible_password", "hvdyn_password", "ansible_winrm_password"])
def test_password_in_file_refused(tmp_path: Path, var: str) -> None:
    path = write(
        tmp_path,
        f"""\
        all:
          hosts:
            hv01:
              ansible_user: admin
              {var}: Secret1
        """,
    )
    err = _first_error(path)
    assert (err.line, err.col, err.key) == (5, 7, f"all.hosts.hv01.{var}")
    assert "hvdyn_password_env" in str(err)
    assert "Secret1" not in str(err)


def test_unknown_hvdyn_var(tmp_path: Path) -> None:
    path = write(tmp_path, "all:\n  vars:\n    hvdyn_transprot: winrm\n")
    err = _first_error(path)
    assert (err.line, err.col, err.key) == (3, 5, "all.vars.hvdyn_transprot")
    assert "unknown hvdyn variable" in err.message
    assert err.allowed is not None and "hvdyn_transport" in err.allowed


def test_unknown_non_hvdyn_vars_are_kept(tmp_path: Path) -> None:
    inv = load_inventory(
        write(tmp_path, "all:\n  hosts:\n    h: {ansible_become: true, role: !unsafe '{{x}}', "
              "note: !vault abc, motd: '{{ lookup(\"env\", \"X\") }}'}\n")
    )
    # !unsafe is never templated by Ansible: its text is the value. Vault and Jinja in a
    # var hvdyn does not read are left out rather than used as literal text.
    assert inv.hosts["h"].vars == {"ansible_become": True, "role": "{{x}}"}


def test_missing_fixture_for_mock_host(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "all:\n  hosts:\n    sim: {hvdyn_transport: mock, hvdyn_mock_fixture: gone.yaml}\n",
    )
    err = _first_error(path)
    assert (err.line, err.key) == (3, "all.hosts.sim.hvdyn_mock_fixture")
    assert "fixture file not found" in err.message


def test_mock_host_without_fixture(tmp_path: Path) -> None:
    err = _first_error(
        write(tmp_path, "all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n    sim:\n")
    )
    assert (err.line, err.col, err.key) == (4, 5, "all.hosts.sim")


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("all:\n  vars: {hvdyn_transport: ssh}\n", (2, 27), "unsupported value 'ssh'"),
        ("all:\n  vars: {ansible_winrm_transport: digest}\n", (2, 35), "unsupported value"),
        ("all:\n  vars: {ansible_winrm_transport: []}\n", (2, 35), "unsupported value []"),
        ("all:\n  vars: {ansible_psrp_auth: [ntlm, 7]}\n", (2, 29), "unsupported value"),
        ("all:\n  vars: {ansible_port: 70000}\n", (2, 24), "not a TCP port"),
        ("all:\n  vars: {hvdyn_password_env: 'my pw'}\n", (2, 30), "environment variable"),
        ("all:\n  hosts: [a, b]\n", (2, 10), "hosts must be a mapping"),
        ("all:\n  hosts:\n    a: 1\n", (3, 8), "host vars must be a mapping"),
        ("- all\n", (1, 1), "expected a mapping of groups"),
        ("all:\n  hosts:\n    a:\n    a:\n", (4, 5), "duplicate key"),
        ("all:\n  hosts: {a: [\n", (3, 1), "YAML syntax error"),
        (
            "all:\n  children:\n    a:\n      children:\n"
            "        b:\n          children:\n            a:\n",
            (1, 1),
            "children cycle",
        ),
    ],
)
def test_invalid_inventories(
    tmp_path: Path, text: str, where: tuple[int, int], fragment: str
) -> None:
    err = _first_error(write(tmp_path, text))
    assert (err.line, err.col) == where
    assert fragment in str(err)


def names(fleet: Inventory, limit: str | None) -> list[str]:
    return [h.name for h in select_hosts(fleet, limit)]


def test_limit(fleet: Inventory) -> None:
    everyone = sorted(fleet.hosts)
    assert names(fleet, None) == everyone
    assert names(fleet, "") == everyone
    assert names(fleet, "all") == everyone
    assert names(fleet, "hv0[12]*") == ["hv01.corp.example", "hv02.corp.example"]
    assert names(fleet, "sql-hosts") == ["hv02.corp.example", "hv03.corp.example"]
    assert names(fleet, "hyperv,!sql-hosts") == ["hv01.corp.example"]
    assert names(fleet, "!hyperv") == ["sim01"]  # only exclusions: start from all
    assert names(fleet, "lab, hv01*") == ["hv01.corp.example", "sim01"]
    assert names(fleet, "hyperv,&vdi-hosts,!hv01*") == ["hv02.corp.example"]


@pytest.mark.parametrize("limit", ["nope", "vdi", "SQL-HOSTS"])
def test_limit_matching_nothing_is_an_error(fleet: Inventory, limit: str) -> None:
    with pytest.raises(InputError) as info:
        select_hosts(fleet, limit)
    text = str(info.value)
    assert "selects no hosts" in text and "case-sensitive" in text
    assert "vdi-hosts" in text


def test_limit_part_matching_nothing_warns(
    fleet: Inventory, caplog: pytest.LogCaptureFixture
) -> None:
    assert names(fleet, "hv01*,!hv99*") == ["hv01.corp.example"]
    assert "could not match supplied host pattern, ignoring: !hv99*" in caplog.text


def test_limit_excluding_everything(fleet: Inventory) -> None:
    with pytest.raises(InputError, match="selects no hosts"):
        select_hosts(fleet, "sim01,!lab")
