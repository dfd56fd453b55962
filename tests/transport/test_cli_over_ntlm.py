"""`hvdyn ping`, `plan`, `apply` and `collect` over pywinrm and pypsrp with hvdyn's defaults.

The inventory names only the address, the port, the user and where the
password is: no auth, no scheme, so hvdyn uses its defaults (ntlm over
HTTP with message encryption). The fake authenticates with pyspnego's NTLM
acceptor, accepts only encrypted bodies and plays the simulated lab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hvdyn.transport.psrp import PsrpTransport
from hvdyn.transport.winrm import WinrmTransport
from tests.runner import run_cli

from .fake_auth import ServerAuth
from .simlab import REPO, hvdyn, simulated_lab

TRANSPORTS: dict[str, Any] = {"winrm": WinrmTransport, "psrp": PsrpTransport}
POLICY = REPO / "examples" / "lab.yaml"


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_ping_plan_apply_collect_over_ntlm_with_encryption(
    name: str, ntlm_users: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServerAuth(offers=("Negotiate",), require_encryption=True)
    with simulated_lab(TRANSPORTS[name], name, tmp_path, monkeypatch, auth="ntlm",
                       server_auth=server) as (sim, fake, inventory):
        assert "ansible_winrm_transport" not in inventory.read_text()  # hvdyn's defaults
        state = ["--state-dir", str(tmp_path / "state"), "--format", "json"]

        code, doc = hvdyn("ping", "-i", inventory, *state)
        assert code == 0, doc
        assert {h["auth"] for h in doc["hosts"]} == {"ntlm"}
        assert all(h["message_encryption"] and h["tls_version"] is None for h in doc["hosts"])

        code, doc = hvdyn("plan", POLICY, "-i", inventory, *state)
        assert code == 2 and all(h["error"] is None for h in doc["hosts"]), doc

        code, doc = hvdyn("apply", POLICY, "-i", inventory, "--allow-restart", *state)
        assert code == 0 and doc["summary"]["failed"] == 0, doc

        code, doc = hvdyn("collect", "-i", inventory, "--samples", "2", *state)
        assert code == 0, doc

        code, doc = hvdyn("plan", POLICY, "-i", inventory, *state)
        assert code == 0 and doc["summary"]["changes"] == 0, doc

    received = {script for _host, script in sim.received}
    assert {"ping", "discover", "apply", "collect"} <= received
    assert fake.plain_bodies == 0 and fake.encrypted_bodies > 10
    assert not any(b"Envelope" in body for body in fake.wire)
    assert server.accepted and {a.split(":", 1)[1] for a in server.accepted} == {"hvadmin"}
    assert not server.refused


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_ping_wrong_password_over_ntlm_is_a_clear_auth_failure(
    name: str, ntlm_users: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServerAuth(offers=("Negotiate",), require_encryption=True)
    with simulated_lab(TRANSPORTS[name], name, tmp_path, monkeypatch, auth="ntlm",
                       server_auth=server) as (_sim, _fake, inventory):
        monkeypatch.setenv("HVDYN_LAB_PASSWORD", "not-the-password")
        code, doc = hvdyn("ping", "-i", inventory, "--state-dir", tmp_path / "s",
                          "--format", "json")
    assert code == 1
    for host in doc["hosts"]:
        assert host["error_kind"] == "AuthError"
        assert host["error"] == "ntlm authentication as hvadmin was rejected"
        assert "$HVDYN_LAB_PASSWORD" in host["hint"]


def test_ping_prints_the_negotiated_security(
    ntlm_users: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServerAuth(offers=("Negotiate",), require_encryption=True)
    with simulated_lab(WinrmTransport, "winrm", tmp_path, monkeypatch, auth="ntlm",
                       server_auth=server) as (_sim, _fake, inventory):
        result = run_cli("ping", "-i", inventory, state_dir=tmp_path / "s",
                         catch_exceptions=True)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines.count("  security: ntlm, messages encrypted (ntlm session keys)") == 2


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_ping_table_never_passes_a_hosts_control_characters_to_the_terminal(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 comes before any authentication (anyone on the path can send one): its
    WWW-Authenticate text reaches the error, and must not reach the terminal as escapes."""
    hostile = "Basic\x1b]0;owned\x07\x1b[2J\x9b31m"  # HTTP headers are Latin-1
    server = ServerAuth(offers=(hostile,))
    with simulated_lab(TRANSPORTS[name], name, tmp_path, monkeypatch, auth="ntlm",
                       server_auth=server) as (_sim, _fake, inventory):
        result = run_cli("ping", "-i", inventory, state_dir=tmp_path / "state")
    assert result.exit_code == 1, result.stdout
    assert "does not offer ntlm" in result.stdout
    assert not any(c in result.stdout for c in "\x1b\x07\x9b"), repr(result.stdout)
