"""The bundled lab converges under examples/lab.yaml, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hvdyn.sim import load_fixture, run_script

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "lab.yaml"


def hvdyn(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from hvdyn.cli.group import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args, "--state-dir", str(state_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )


def test_apply_allow_restart_converges(tmp_path: Path) -> None:
    before = hvdyn(tmp_path, "plan", str(POLICY))
    assert before.returncode == 2, before.stdout + before.stderr
    applied = hvdyn(tmp_path, "apply", str(POLICY), "--allow-restart", "--format", "json")
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr
    after = hvdyn(tmp_path, "plan", str(POLICY), "--format", "json")
    assert after.returncode == 0, after.stdout[-2000:] + after.stderr
    hosts = json.loads(after.stdout)["hosts"]
    assert {h["host"] for h in hosts} == {"hv-vdi-01", "hv-srv-01", "hv-full-01"}
    assert all(not vm["changes"] for h in hosts for vm in h["vms"])


def test_capacity_host_is_tight() -> None:
    host = load_fixture(ROOT / "inventories" / "lab" / "hv-full-01.yaml")
    records = run_script(host, "collect", {"host": "hv-full-01", "samples": 96,
                                           "interval_s": 900})
    available = [r["counters"]["AvailableMemory"] for r in records if r["t"] == "balancer"]
    assert max(available) < 2048


def test_vdi_lab_shape() -> None:
    host = load_fixture(ROOT / "inventories" / "lab" / "hv-vdi-01.yaml")
    names = [vm.name for vm in host.vms]
    assert len(names) == 40 and all(vm.state == 2 for vm in host.vms)
    assert "O'Brien's desk" in names and "$(calc)" in names
    assert any("\u2018" in n for n in names) and any(not n.isascii() for n in names)
    assert len(names) - len(set(names)) == 1
