"""Ranges, patterns, connection checks at load, the Ansible bridge, and hostile inventories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hvdyn.inventory import (
    AnsibleOptions,
    ReaderOptions,
    inventory_password,
    load_inventory,
    select_hosts,
)
from hvdyn.inventory.credentials import make_password_resolver
from hvdyn.inventory.names import RangeError, expand, split_port
from hvdyn.inventory.patterns import select, split_pattern
from tests.runner import run_cli

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "lab.yaml"
ANSIBLE = shutil.which("ansible-inventory") or str(
    Path(sys.executable).with_name("ansible-inventory")
)
HAVE_ANSIBLE = Path(ANSIBLE).is_file()


def hvdyn(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = run_cli(*args, env=env)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- names and ranges


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("hv[01:03]", ["hv01", "hv02", "hv03"]),
        ("hv[8:10].corp", ["hv8.corp", "hv9.corp", "hv10.corp"]),
        ("[a:c]-vdi", ["a-vdi", "b-vdi", "c-vdi"]),
        ("n[0:10:5]", ["n0", "n5", "n10"]),
        ("r[1:2]c[a:b]", ["r1ca", "r1cb", "r2ca", "r2cb"]),
        ("plain", ["plain"]),
    ],
)
def test_ranges_expand_as_ansible(key: str, names: list[str]) -> None:
    assert expand(key) == names


@pytest.mark.parametrize("key", ["hv[01:3]", "hv[1:]", "hv[3:1:0]", "hv[1:2", "hv[c:a]",
                                 "hv[1:99999999]", "hv[x:1]"])
def test_bad_ranges_say_why(key: str) -> None:
    with pytest.raises(RangeError):
        expand(key)


def test_host_port_split() -> None:
    assert split_port("hv01:5986") == ("hv01", 5986)
    assert split_port("[2001:db8::1]:5985") == ("2001:db8::1", 5985)
    assert split_port("2001:db8::1") == ("2001:db8::1", None)
    assert split_port("hv[01:09]:5985") == ("hv[01:09]", 5985)
    assert split_port("hv[01:09]") == ("hv[01:09]", None)


# ---------------------------------------------------------------- patterns

HOSTS = ["a1", "a2", "b1", "B2"]
GROUPS = {"all": ("a1", "a2", "b1", "B2"), "ga": ("a1", "a2"), "gb": ("b1", "B2")}


@pytest.mark.parametrize(
    ("pattern", "chosen"),
    [
        ("ga:gb", ["a1", "a2", "b1", "B2"]),
        ("ga:&a*", ["a1", "a2"]),
        ("all:!ga", ["b1", "B2"]),
        ("b*", ["b1"]),  # case-sensitive
        ("~[bB]", ["b1", "B2"]),
        ("gb[-1]", ["B2"]),
        ("ga[0:1],gb[0]", ["a1", "a2", "b1"]),
        ("&ga", ["a1", "a2"]),  # only & / ! parts start from all
    ],
)
def test_pattern_grammar(pattern: str, chosen: list[str]) -> None:
    assert select(HOSTS, GROUPS, pattern) == chosen


def test_split_keeps_ranges_and_ports_whole() -> None:
    assert split_pattern("hv[01:03]") == ["hv[01:03]"]
    assert split_pattern("a:b:!c") == ["a", "b", "!c"]
    assert split_pattern(" a , b ") == ["a", "b"]


@given(st.text(max_size=30))
@settings(max_examples=300, deadline=None)
def test_any_pattern_selects_or_says_why(pattern: str) -> None:
    try:
        chosen = select(HOSTS, GROUPS, pattern)
    except Exception as exc:  # only the located/input errors users can act on
        assert type(exc).__name__ == "InputError", repr(exc)
    else:
        assert set(chosen) <= set(HOSTS)


# ---------------------------------------------------------------- checks at load (issue 11)


@pytest.mark.parametrize(
    ("host_vars", "fragment", "col"),
    [
        ('{ansible_port: 5986, hvdyn_tls_min: "0.9"}', "not a TLS version", 47),
        ("{hvdyn_cert_validation: maybe}", "unsupported value 'maybe'", 35),
        ("{ansible_winrm_transport: basic}", "basic auth over plain HTTP", 37),
        ("{hvdyn_allow_unencrypted: perhaps}", "not true or false", 37),
        ("{hvdyn_operation_timeout_s: 0}", "not an integer in 1..3600", 39),
        ("{ansible_connection: winrm, ansible_winrm_transport: negotiate}", "needs the psrp", 64),
    ],
)
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_settings_that_fail_every_host_are_refused_at_load(
    tmp_path: Path, host_vars: str, fragment: str, col: int, command: str
) -> None:
    inv = write(tmp_path / "hosts.yml", f"all:\n  vars: {{ansible_user: CORP\\\\hv}}\n  hosts:\n"
                f"    hv01: {host_vars}\n")
    code, _, err = hvdyn(command, POLICY, "-i", inv, "--state-dir", tmp_path / "state")
    assert code == 3, err
    assert f"{inv}:4:{col}: " in err and fragment in err
    assert "Traceback" not in err


def test_certificate_validation_off_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    inv = write(tmp_path / "hosts.yml", "all:\n  hosts:\n    hv01: {ansible_port: 5986, "
                "ansible_user: CORP\\\\hv, ansible_winrm_server_cert_validation: ignore}\n")
    load_inventory(inv, ReaderOptions(reader="builtin"))
    assert "hv01: certificate validation is off (ansible_winrm_server_cert_validation" in (
        caplog.text)


# ---------------------------------------------------------------- validate: no user (issue 15)


@pytest.mark.parametrize(
    ("host_vars", "flagged"),
    [
        ("{}", True),  # ntlm needs a user
        ("{ansible_connection: winrm, ansible_port: 5986}", True),  # basic over https
        ("{ansible_winrm_transport: kerberos}", False),  # a ticket from kinit
        ("{ansible_connection: psrp}", False),  # negotiate: Kerberos ticket or ask
        ("{ansible_user: CORP\\\\hv}", False),
    ],
)
def test_validate_flags_a_winrm_host_with_no_user(
    tmp_path: Path, host_vars: str, flagged: bool
) -> None:
    inv = write(tmp_path / "hosts.yml", f"all:\n  hosts:\n    hv01: {host_vars}\n")
    code, _, err = hvdyn("validate", POLICY, "-i", inv, "--state-dir", tmp_path / "state")
    if flagged:
        assert code == 3 and f"{inv}:3:5: " in err and "no user for" in err, err
    else:
        assert code == 0, err


def test_vaulted_password_of_a_host_hvdyn_does_not_reach_is_no_concern(tmp_path: Path) -> None:
    inv = write(tmp_path / "hosts.yml", "linux:\n  hosts:\n    web01:\n"
                "      ansible_connection: ssh\n      ansible_host: '{{ x }}.lan'\n"
                "      ansible_become_password: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n"
                "        6162\n"
                "    web02: {ansible_connection: ssh, ansible_become_pass: hunter2}\n")
    code, _, err = hvdyn("inventory", "-i", inv)
    assert code == 3  # plain text is refused on every host ...
    assert f"{inv}:9:38: " in err and "web01" not in err  # ... an encrypted one is not


# ---------------------------------------------------------------- INI and Ansible mode


def test_ini_without_ansible_is_a_clear_message(tmp_path: Path) -> None:
    inv = write(tmp_path / "hosts", "[hyperv]\nhv01 ansible_user=CORP\\\\hv\n")
    code, _, err = hvdyn("inventory", "-i", inv, env={"HVDYN_ANSIBLE_INVENTORY": "/nonexistent"})
    assert code == 3
    assert "an INI inventory is read with Ansible's ansible-inventory" in err
    assert "pip install ansible-core" in err and "YAML syntax" not in err


def test_builtin_reader_refuses_ini_by_name(tmp_path: Path) -> None:
    inv = write(tmp_path / "hosts.ini", "[hyperv]\nhv01\n")
    code, _, err = hvdyn("inventory", "-i", inv, "--inventory-reader", "builtin")
    assert code == 3 and "an INI inventory needs Ansible" in err


VAULT_PASSWORD = "corpus-vault-pass"


def vaulted_inventory(tmp_path: Path) -> tuple[Path, Path]:
    """An inventory whose ansible_password is vault-encrypted, and the vault password file."""
    vpass = write(tmp_path / "vault-pass", VAULT_PASSWORD + "\n")
    encrypted = subprocess.run(
        [str(Path(ANSIBLE).with_name("ansible-vault")), "encrypt_string", "--vault-password-file",
         str(vpass), "Sup3r-Secret", "--name", "ansible_password"],
        capture_output=True, text=True, check=True,
    ).stdout
    inv = write(tmp_path / "inv" / "hosts.yml", "hyperv:\n  hosts:\n    hv01:\n"
                "      ansible_connection: winrm\n      ansible_user: CORP\\hv\n"
                "      ansible_winrm_transport: ntlm\n      "
                + encrypted.replace("\n", "\n      ").rstrip() + "\n")
    return inv, vpass


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_ANSIBLE, reason="needs ansible-core")
def test_vaulted_password_is_used_and_written_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hvdyn.inventory._passwords", {})
    inv, vpass = vaulted_inventory(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, out, err = hvdyn("inventory", "-i", inv, "--list", "--inventory-reader", "ansible",
                           "--vault-password-file", vpass)
    assert code == 0, err
    assert "Sup3r-Secret" not in out + err
    assert json.loads(out)["hosts"][0]["auth"] == ["ntlm"]
    assert inventory_password("hv01") == "Sup3r-Secret"
    options = ReaderOptions(
        reader="ansible", ansible=AnsibleOptions(vault_password_files=(str(vpass),))
    )
    spec = select_hosts(load_inventory(inv, options), None)[0]
    assert make_password_resolver(False, environ={}, use_keyring=False)(spec) == "Sup3r-Secret"
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing decrypted was written beside the inventory
    assert not any(b"Sup3r-Secret" in data for data in after.values())
    # the built-in reader refuses the same file and names the way out
    code, _, err = hvdyn("inventory", "-i", inv, "--inventory-reader", "builtin")
    assert code == 3 and "a vaulted password" in err and "--inventory-reader ansible" in err


# ---------------------------------------------------------------- hostile inventories


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("all:\n  hosts:\n    'hv\"01': {ansible_port: \"59'86\"}\n", ":3:"),
        ("all:\n  hosts:\n    hv\u00e9\u202e01: {hvdyn_transport: \"w\\0inrm\"}\n", ":3:"),
        ("all:\n  hosts:\n    hv[01:\n", ":3:"),
        ("all:\n  children:\n    g: [1, 2]\n", ":3:"),
        ("all:\n  hosts:\n    hv01: {ansible_host: ''}\n", ":3:"),
        ("all:\n  hosts:\n    s: {hvdyn_transport: mock, hvdyn_mock_fixture: " + "a" * 300
         + ".yaml}\n", ":3:52: "),
    ],
)
def test_hostile_values_are_located(tmp_path: Path, text: str, where: str) -> None:
    inv = write(tmp_path / "hosts.yml", text)
    code, _, err = hvdyn("inventory", "-i", inv)
    assert code in (0, 3), err
    assert "Traceback" not in err
    if code == 3:
        assert f"{inv}{where}" in err


def test_huge_range_is_refused_not_expanded(tmp_path: Path) -> None:
    inv = write(tmp_path / "hosts.yml", "all:\n  hosts:\n    hv[0:99999999999]:\n")
    code, _, err = hvdyn("inventory", "-i", inv)
    assert code == 3 and f"{inv}:3:5: " in err and "more than" in err


def test_many_hosts_resolve(tmp_path: Path) -> None:
    inv = write(tmp_path / "hosts.yml", "hyperv:\n  vars: {ansible_user: CORP\\\\hv}\n"
                "  hosts:\n    hv[00000:19999].corp.example:\n")
    code, out, err = hvdyn("inventory", "-i", inv, "--list", "--limit", "hyperv[-1]")
    assert code == 0, err
    assert [h["name"] for h in json.loads(out)["hosts"]] == ["hv19999.corp.example"]


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_ANSIBLE, reason="needs ansible-core")
def test_ask_vault_pass_asks_once_and_hands_it_over_by_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv, _ = vaulted_inventory(tmp_path)
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return VAULT_PASSWORD

    monkeypatch.setattr("hvdyn.inventory.ansible._asked", [])
    monkeypatch.setattr("hvdyn.inventory._passwords", {})
    monkeypatch.setattr("getpass.getpass", prompt)
    code, out, err = hvdyn("inventory", "-i", inv, "--list", "--inventory-reader", "ansible",
                           "--ask-vault-pass", "--limit", "hyperv")
    assert code == 0, err
    assert asked == ["Vault password: "]  # three Ansible runs, one question
    assert inventory_password("hv01") == "Sup3r-Secret"
    assert "Sup3r-Secret" not in out + err


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_ANSIBLE, reason="needs ansible-core")
def test_password_in_a_vault_encrypted_vars_file_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hvdyn.inventory._passwords", {})
    vpass = write(tmp_path / "vault-pass", VAULT_PASSWORD + "\n")
    inv = write(tmp_path / "inv" / "hosts.ini", "[hyperv]\nhv01 ansible_user=CORP\\\\hv\n")
    secret = write(tmp_path / "inv" / "group_vars" / "hyperv.yml",
                   "ansible_connection: winrm\nansible_winrm_transport: ntlm\n"
                   "ansible_password: Whole-File-Secret\n")
    subprocess.run([str(Path(ANSIBLE).with_name("ansible-vault")), "encrypt",
                    "--vault-password-file", str(vpass), str(secret)], check=True,
                   capture_output=True)
    assert b"Whole-File-Secret" not in secret.read_bytes()
    code, out, err = hvdyn("inventory", "-i", inv, "--list", "--vault-password-file", vpass)
    assert code == 0, err
    assert inventory_password("hv01") == "Whole-File-Secret"
    assert json.loads(out)["hosts"][0]["user"] == "CORP\\hv"


_NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 70000), st.floats(allow_nan=False),
    st.sampled_from(["winrm", "psrp", "ssh", "https", "http", "ntlm", "kerberos,ntlm",
                     "ignore", "0.9", "1.0", "{{ x }}", "hv[1:3]", "CORP\\hv", ""]),
    _NAMES,
)
_VARS = st.dictionaries(
    st.sampled_from(["ansible_connection", "ansible_host", "ansible_port", "ansible_user",
                     "ansible_winrm_transport", "ansible_winrm_scheme", "ansible_psrp_auth",
                     "ansible_psrp_protocol", "hvdyn_transport", "hvdyn_tls_min",
                     "hvdyn_cert_validation", "hvdyn_allow_unencrypted", "ansible_group_priority",
                     "hvdyn_auth", "other", "ansible_winrm_server_cert_validation"]),
    _VALUES, max_size=5,
)
_HOST_KEYS = st.one_of(_NAMES, st.sampled_from(["hv[01:03]", "hv:5985", "[::1]:5986", "a[b:",
                                                "hv[3:1]", "x[a:c]y"]))
_GROUP = st.fixed_dictionaries(
    {}, optional={"vars": _VARS, "hosts": st.dictionaries(_HOST_KEYS, st.one_of(st.none(), _VARS),
                                                           max_size=4)},
)


@given(st.dictionaries(_NAMES, st.one_of(st.none(), _GROUP, _VALUES), min_size=1, max_size=4))
@settings(max_examples=int(os.environ.get("HVDYN_FUZZ_EXAMPLES", "150")), deadline=None)
def test_fuzzed_inventories_resolve_or_say_where(inventory: dict[str, object]) -> None:
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        inv = write(Path(tmp) / "hosts.yml", yaml.safe_dump(inventory, allow_unicode=True))
        code, out, err = hvdyn("inventory", "-i", inv, "--list", "--inventory-reader", "builtin")
    assert code in (0, 3), err
    assert "Traceback" not in err
    if code == 0:
        assert isinstance(json.loads(out)["hosts"], list)
    else:
        assert f"{inv}:" in err or "hvdyn: " in err


def test_auth_list_reaches_the_transport_in_order(tmp_path: Path) -> None:
    inv = write(tmp_path / "hosts.yml", "all:\n  hosts:\n    hv01: {ansible_connection: winrm, "
                "ansible_user: hv@CORP.EXAMPLE, ansible_winrm_transport: 'kerberos, ntlm'}\n")
    spec = select_hosts(load_inventory(inv, ReaderOptions(reader="builtin")), None)[0]
    assert spec.auth == "kerberos" and spec.auth_order == ("kerberos", "ntlm")
