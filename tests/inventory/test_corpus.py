"""The inventory corpus: each shape's resolution as written down, and as Ansible resolves it.

Every directory under corpus/ holds an inventory and a case.yaml with the
expected resolution, one line per host::

    TRANSPORT SCHEME://ADDRESS:PORT AUTH[,AUTH] USER CERT_VALIDATION [GROUPS]
    skipped [GROUPS]

`test_corpus_as_written` checks `hvdyn inventory --list` against those lines.
`test_corpus_matches_ansible` (needs ansible-core, a test extra) runs the
real `ansible-inventory --list` on the same source, derives the connection
from its host vars with the rules of ansible-core 2.19's winrm and psrp
plugins (`ansible_rules` below, written from the plugins' documentation),
and compares with hvdyn field by field.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.runner import run_cli

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.yaml").is_file())
_LINE = re.compile(
    r"^(?P<transport>\S+) (?P<scheme>https?)://(?P<address>\[.+\]|[^:/]+):(?P<port>\d+) "
    r"(?P<auth>\S+) (?P<user>\S+) (?P<cert>validate|ignore) \[(?P<groups>.*)\]$"
)
ANSIBLE_INVENTORY = shutil.which("ansible-inventory") or str(
    Path(sys.executable).with_name("ansible-inventory")
)
HAVE_ANSIBLE = Path(ANSIBLE_INVENTORY).is_file()


def load_case(name: str) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load((CORPUS / name / "case.yaml").read_text("utf-8"))
    return case


def expected_record(name: str, line: str) -> dict[str, Any]:
    """The `--list` record a case.yaml line stands for."""
    if line.startswith("skipped "):
        groups = line[len("skipped [") : -1]
        return {"name": name, "groups": groups.split(",") if groups else [], "skipped": True}
    match = _LINE.match(line)
    assert match, f"bad expectation line: {line}"
    address = match["address"].strip("[]")
    return {
        "name": name,
        "groups": match["groups"].split(",") if match["groups"] else [],
        "transport": match["transport"],
        "address": address,
        "port": int(match["port"]),
        "scheme": match["scheme"],
        "auth": match["auth"].split(","),
        "user": None if match["user"] == "-" else match["user"],
        "cert_validation": match["cert"],
        "skipped": None,
    }


def run_hvdyn(case: dict[str, Any], name: str, limit: str | None = None) -> tuple[int, str, str]:
    argv = ["inventory", "-i", str(CORPUS / name / case["source"]), "--list"]
    if case.get("reader"):
        argv += ["--inventory-reader", case["reader"]]
    if limit is not None:
        argv += ["--limit", limit]
    env = {k: str(v) for k, v in (case.get("env") or {}).items()}
    result = run_cli(*argv, env=env)
    return result.exit_code, result.stdout, result.stderr


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    if record.get("skipped"):
        return {"name": record["name"], "groups": record["groups"], "skipped": True}
    return record


@pytest.mark.parametrize("name", CASES)
def test_corpus_as_written(
    name: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = load_case(name)
    through_ansible = case.get("reader") == "ansible" or not case["source"].endswith(".yml")
    if through_ansible and not HAVE_ANSIBLE:
        pytest.skip("needs ansible-core (INI, directories, Jinja)")
    for key, value in (case.get("env") or {}).items():
        monkeypatch.setenv(key, str(value))
    code, out, err = run_hvdyn(case, name)
    if "error" in case:
        assert code == 3, out
        assert case["error"] in err
        for where in case["at"]:
            assert f"{CORPUS / name / where}: " in err, err
        assert "Traceback" not in err
        return
    assert code == 0, err
    got = [comparable(r) for r in json.loads(out)["hosts"]]
    want = [comparable(expected_record(h, line)) for h, line in sorted(case["expect"].items())]
    assert got == want
    for fragment in case.get("warn", []):
        assert fragment in caplog.text + err
    for pattern, hosts in (case.get("limits") or {}).items():
        code, out, err = run_hvdyn(case, name, pattern)
        assert code == 0, (pattern, err)
        assert [r["name"] for r in json.loads(out)["hosts"]] == hosts, pattern
    for pattern in case.get("limit_errors", []):
        code, _, err = run_hvdyn(case, name, pattern)
        assert code == 3 and "Traceback" not in err, (pattern, err)


# ---------------------------------------------------------------- Ansible as the oracle


def _last(values: dict[str, Any], *names: str) -> Any:
    """ansible-core's config manager: of an option's vars, the last one set wins."""
    found = None
    for name in names:
        if values.get(name) is not None:
            found = values[name]
    return found


def _as_list(value: Any) -> list[str]:
    """ansible-core's `list` option type."""
    return value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]


PYWINRM_BASIC = {"ssl": "basic", "plaintext": "basic"}


def ansible_rules(name: str, hv: dict[str, Any]) -> dict[str, Any]:
    """What Ansible's winrm/psrp plugins (ansible-core 2.19) connect to, from the host vars.

    winrm: remote_addr vars inventory_hostname, ansible_host, ansible_winrm_host;
    port ansible_port, ansible_winrm_port, default 5986; scheme
    ansible_winrm_scheme, else http iff port == 5985; transport
    ansible_winrm_transport (list), else ['kerberos'] for a user with '@', else
    ['ssl'] over https or ['plaintext'] (both basic auth in pywinrm 0.5; 'ssl' with
    ansible_winrm_cert_pem or _cert_key_pem is certificate auth); cert
    validation: the ansible_winrm_server_cert_validation extra (pywinrm default
    'validate'). psrp: ansible_psrp_host/_user/_port/_protocol/_auth
    (default negotiate)/_cert_validation (default validate); no port and no
    protocol -> https 5986; protocol from port (https unless 5985); port from
    protocol (5986 for https). Hosts that name no connection get hvdyn's
    documented defaults (the deliberate difference: Ansible would use ssh);
    hvdyn_* vars override (hvdyn's documented extension).
    """
    connection = str(hv.get("ansible_connection") or "").removeprefix("ansible.builtin.")
    if connection not in ("", "winrm", "psrp") and "hvdyn_transport" not in hv:
        return {"name": name, "skipped": True}
    if connection == "winrm":
        address = _last(hv, "ansible_host", "ansible_winrm_host") or name
        user = _last(hv, "ansible_user", "ansible_winrm_user")
        port = int(_last(hv, "ansible_port", "ansible_winrm_port") or 5986)
        scheme = hv.get("ansible_winrm_scheme") or ("http" if port == 5985 else "https")
        transport = hv.get("ansible_winrm_transport")
        if transport is None:
            transport = ["kerberos"] if user and "@" in user else (
                ["ssl"] if scheme == "https" else ["plaintext"])
        cert_given = any(hv.get(f"ansible_winrm_cert{k}_pem") for k in ("", "_key"))
        auth = [("certificate" if t == "ssl" and cert_given else PYWINRM_BASIC.get(t, t))
                for t in _as_list(transport)]
        cert = hv.get("ansible_winrm_server_cert_validation") or "validate"
    elif connection == "psrp":
        address = _last(hv, "ansible_host", "ansible_psrp_host") or name
        user = _last(hv, "ansible_user", "ansible_psrp_user")
        port_raw = _last(hv, "ansible_port", "ansible_psrp_port")
        scheme = hv.get("ansible_psrp_protocol")
        if scheme is None and port_raw is None:
            scheme, port_raw = "https", 5986
        elif scheme is None:
            scheme = "https" if int(port_raw) != 5985 else "http"
        elif port_raw is None:
            port_raw = 5986 if scheme == "https" else 5985
        port = int(port_raw)
        auth = [hv.get("ansible_psrp_auth") or "negotiate"]
        cert = hv.get("ansible_psrp_cert_validation") or "validate"
    else:  # hvdyn's defaults (docs/transports.md)
        address = hv.get("ansible_host") or name
        user = hv.get("ansible_user")
        given = int(hv["ansible_port"]) if "ansible_port" in hv else None
        scheme = hv.get("ansible_winrm_scheme") or ("https" if given == 5986 else "http")
        port = given or (5986 if scheme == "https" else 5985)
        auth = _as_list(hv.get("ansible_winrm_transport") or "ntlm")
        cert = hv.get("ansible_winrm_server_cert_validation") or "validate"
    if "hvdyn_scheme" in hv:
        scheme = hv["hvdyn_scheme"]
    if "hvdyn_auth" in hv:
        auth = _as_list(hv["hvdyn_auth"])
    return {
        "name": name,
        "transport": hv.get("hvdyn_transport") or connection or "winrm",
        "address": str(address),
        "port": port,
        "scheme": scheme,
        "auth": auth,
        "user": hv.get("hvdyn_user") or user,
        "cert_validation": hv.get("hvdyn_cert_validation") or cert,
        "skipped": None,
    }


def ansible_resolution(case: dict[str, Any], name: str, limit: str | None) -> list[dict[str, Any]]:
    """Run the real ansible-inventory (and ansible for Jinja) on the case's source."""
    src = CORPUS / name / case["source"]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", **(case.get("env") or {}))
    argv = [ANSIBLE_INVENTORY, "-i", str(src), "--list"] + (["--limit", limit] if limit else [])
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True, timeout=300)
    data = json.loads(done.stdout)
    hostvars = data["_meta"]["hostvars"]
    children = {g: b.get("children", []) for g, b in data.items() if g != "_meta"}
    direct = {g: b.get("hosts", []) for g, b in data.items() if g != "_meta"}

    def members(group: str) -> set[str]:
        found = set(direct.get(group, []))
        for child in children.get(group, []):
            found |= members(child)
        return found

    hosts = sorted({h for hs in direct.values() for h in hs} | set(hostvars))
    if any("{{" in json.dumps(v) for v in hostvars.values()):
        templated = subprocess.run(
            [str(Path(ANSIBLE_INVENTORY).with_name("ansible")), "-i", str(src), ",".join(hosts),
             "-m", "ansible.builtin.debug", "-a", "var=hostvars[inventory_hostname]"],
            capture_output=True, text=True, env=env, check=True, timeout=300,
        ).stdout
        decoder = json.JSONDecoder()
        for header in re.finditer(r"^(\S+) \| SUCCESS => ", templated, re.M):
            body, _ = decoder.raw_decode(templated, header.end())
            hostvars[header[1]] = body["hostvars[inventory_hostname]"]
    out = []
    for host in hosts:
        record = ansible_rules(host, hostvars.get(host, {}))
        record["groups"] = sorted(g for g in children if g != "all" and host in members(g))
        out.append(comparable(record))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_ANSIBLE, reason="needs ansible-core (the [test] extra)")
@pytest.mark.parametrize("name", CASES)
def test_corpus_matches_ansible(name: str) -> None:
    case = load_case(name)
    if case.get("ansible") is False:
        pytest.skip("a documented refusal: hvdyn does not resolve this on purpose")
    for limit in [None, *(case.get("limits") or {})]:
        code, out, err = run_hvdyn(case, name, limit)
        assert code == 0, err
        ours = [comparable(r) for r in json.loads(out)["hosts"]]
        theirs = ansible_resolution(case, name, limit)
        assert ours == theirs, f"--limit {limit}" if limit else "whole inventory"
