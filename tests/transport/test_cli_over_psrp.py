"""`hvdyn plan` end to end over the real pypsrp client (PSRP, protocol 2.1).

As in test_cli_over_winrm.py (see simlab.py), the hosts point at the in-process fake and each
rendered Script is announced to it just before PsrpTransport sends it; the
fake (fake_psrp.py) answers only when the script text it read out of the
CREATE_PIPELINE message is byte-for-byte that script, with the simulated
host's records as output strings and ``exit 0`` as a SetShouldExit host call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hvdyn.transport.psrp import PsrpTransport

from .fake_wsman import FakeWsman
from .simlab import REPO, SimulatedHosts, hvdyn, simulated_lab


@pytest.fixture
def psrp_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SimulatedHosts, FakeWsman, Path]]:
    with simulated_lab(PsrpTransport, "psrp", tmp_path, monkeypatch) as lab:
        yield lab


def test_plan_over_psrp_discovers_through_the_fake(
    psrp_lab: tuple[SimulatedHosts, FakeWsman, Path], tmp_path: Path
) -> None:
    sim, fake, inventory = psrp_lab
    code, doc = hvdyn(
        "plan",
        REPO / "examples" / "lab.yaml",
        "-i",
        inventory,
        "--state-dir",
        tmp_path / "state",
        "--format",
        "json",
    )
    assert code == 2, doc
    assert [h["host"] for h in doc["hosts"]] == ["hv-full-01", "hv-srv-01"]
    assert all(h["status"] == "drift" and h["error"] is None for h in doc["hosts"])
    assert sorted(sim.received) == [("hv-full-01", "discover"), ("hv-srv-01", "discover")]
    # one runspace pool per host, one pipeline per script, every pool closed
    assert fake.actions["Create"] == 2 and fake.psrp.pipelines_created == 2
    assert fake.actions["Command"] == 2 and fake.actions["Delete"] == 2
    assert fake.psrp.client_protocols == ["2.3", "2.3"]
    assert fake.psrp.sent["RUNSPACEPOOL_STATE"] == 2
    assert fake.psrp.sent["PIPELINE_HOST_CALL"] == 2  # each script's `exit 0`


def test_apply_over_psrp_reuses_one_pool_per_host_and_converges(
    psrp_lab: tuple[SimulatedHosts, FakeWsman, Path], tmp_path: Path
) -> None:
    sim, fake, inventory = psrp_lab
    state = tmp_path / "state"
    code, doc = hvdyn(
        "apply",
        REPO / "examples" / "lab.yaml",
        "-i",
        inventory,
        "--allow-restart",
        "--state-dir",
        state,
        "--format",
        "json",
    )
    assert code == 0, doc
    assert doc["summary"]["applied"] > 0 and doc["summary"]["failed"] == 0
    restarts = {h["host"]: sum(1 for vm in h["vms"] if vm["restart"]) for h in doc["hosts"]}
    received = [n for host, n in sim.received if host == "hv-srv-01"]
    assert received == ["discover", "apply"] + ["apply"] * restarts["hv-srv-01"]
    scripts = sum(2 + n for n in restarts.values())
    assert fake.actions["Create"] == 2 and fake.psrp.pipelines_created == scripts
    assert fake.psrp.sent["PIPELINE_HOST_CALL"] == scripts

    code, doc = hvdyn(
        "plan",
        REPO / "examples" / "lab.yaml",
        "-i",
        inventory,
        "--state-dir",
        state,
        "--format",
        "json",
    )
    assert code == 0 and doc["summary"]["changes"] == 0
