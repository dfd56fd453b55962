"""One host failing never stops the others; failures win over drift in the exit code."""

from __future__ import annotations

from pathlib import Path

from tests.runner import Hvdyn

from .helpers import REPO


def test_unreachable_host_does_not_stop_the_others(hvdyn: Hvdyn, tmp_path: Path) -> None:
    (tmp_path / "down.yaml").write_text(
        "host: {memory: 16GB}\nvms: []\nfaults:\n  - {op: connect, error: unreachable}\n",
        encoding="utf-8",
    )
    lab = REPO / "inventories" / "lab"
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n  children:\n"
        "    servers:\n      hosts:\n"
        "        aa-down: {hvdyn_mock_fixture: down.yaml}\n"
        f"        hv-srv-01: {{hvdyn_mock_fixture: {lab / 'hv-srv-01.yaml'}}}\n",
        encoding="utf-8",
    )
    run = hvdyn(
        "plan", REPO / "examples" / "lab.yaml", "-i", inventory, "--forks", "1", "--format", "json"
    )
    assert run.exit_code == 1  # a host failed: 1 wins over the drift on hv-srv-01
    hosts = {h["host"]: h for h in run.json()["hosts"]}
    assert hosts["aa-down"]["status"] == "unreachable" and hosts["aa-down"]["error"]
    assert hosts["hv-srv-01"]["status"] == "drift" and hosts["hv-srv-01"]["vms"]
