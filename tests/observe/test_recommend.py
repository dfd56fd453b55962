"""recommend: known workloads give known advice; little history gives refusals."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from hvdyn.analysis.recommend import advise_vm, percentile, round_up
from hvdyn.history.rows import SampleRow, VmSettingsRow
from hvdyn.policy.load import load_policy
from tests.runner import Hvdyn

from .conftest import INVENTORY, POLICY


def _advice(hvdyn: Hvdyn) -> dict[str, dict]:  # type: ignore[type-arg]
    run = hvdyn("recommend", "--format", "json")
    assert run.exit_code == 0
    return {a["vm_name"]: a for a in json.loads(run.stdout)["vms"]}


def test_workloads_give_expected_verdicts(hvdyn: Hvdyn) -> None:
    # 8 hours at 5-minute steps
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "96", "--interval", "300").exit_code == 0
    advice = _advice(hvdyn)
    assert advice["busy"]["verdict"] == "undersized"  # demand ~1900MB, maximum 2GB
    assert advice["starved"]["verdict"] == "undersized"
    assert advice["ok"]["verdict"] == "oversized"  # demand ~700MB, maximum 4GB
    starved = advice["starved"]
    # demand = pressure x assigned: ~1400MB although only 1GB was ever assigned
    assert 1300 <= starved["evidence"]["p50_mb"] <= 1500
    assert starved["maximum_mb"] >= 1400 * 1.2 and starved["maximum_mb"] % 128 == 0
    assert 650 <= advice["ok"]["evidence"]["p5_mb"] < 700  # 700MB minus noise
    assert advice["ok"]["startup_mb"] == 768  # P5 rounded up to the next 128MB
    assert all(a["startup_mb"] % 2 == 0 and a["startup_mb"] <= a["maximum_mb"]
               for a in advice.values() if not a["refused"])
    assert advice["w7pro"]["refused"] and "samples with pressure" in advice["w7pro"]["reason"]
    assert advice["dup"]["refused"] and "shared" in advice["dup"]["reason"]


def test_too_little_history_is_refused(hvdyn: Hvdyn) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "10").exit_code == 0
    advice = _advice(hvdyn)
    assert all(a["refused"] for a in advice.values())
    assert "10 samples with pressure; need at least 24" in advice["busy"]["reason"]
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "30").exit_code == 0
    advice = _advice(hvdyn)
    assert "history spans 39 min; need at least 60 min" in advice["busy"]["reason"]
    assert advice["busy"]["startup_mb"] is None


def test_yaml_snippet_is_accepted_by_validate(hvdyn: Hvdyn, tmp_path: Path) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "30", "--interval", "300").exit_code == 0
    run = hvdyn("recommend", "--format", "yaml")
    snippet = yaml.safe_load(run.stdout)
    names = {r["name"] for r in snippet["rules"]}
    assert any(n.startswith("recommend-busy-") for n in names)
    assert "# no advice for hv-obs-01/'w7pro'" in run.stdout
    policy = yaml.safe_load(POLICY.read_text())
    policy["rules"] += snippet["rules"]
    policy["inventory"] = str(INVENTORY)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    loaded = load_policy(path)
    busy = next(r for r in loaded.rules if r.name.startswith("recommend-busy-"))
    assert set(busy.values) == {"startup_mb", "maximum_mb", "buffer"}
    assert hvdyn("validate", path).exit_code == 0


def _rows(demands: list[float], assigned: int = 4096) -> list[SampleRow]:
    return [SampleRow(host="h", vm_id="V", vm_name="v", ts=f"2026-01-05T{i // 60:02d}:"
                      f"{i % 60:02d}:00Z", physical_mb=assigned,
                      current_pressure=round(d * 100 / assigned)) for i, d in
            enumerate(demands)]


def _settings(**kw: object) -> VmSettingsRow:
    base: dict[str, object] = dict(host="h", vm_id="V", vm_name="v", ts="x", state=2,
                                   dynamic=True, startup_mb=1024, minimum_mb=1024,
                                   maximum_mb=8192, buffer=20, weight=5000,
                                   os="Windows 7 Enterprise", arch="x64")
    base.update(kw)
    return VmSettingsRow(**base)  # type: ignore[arg-type]


def test_formula_on_synthetic_history() -> None:
    flat = _rows([2000.0] * 90)
    advice = advise_vm("h", "V", flat, _settings())
    # pressure is a whole percent: 49% of 4096MB = 2007MB
    assert advice.evidence is not None and advice.evidence.p99_mb == 2007
    assert advice.buffer == 10  # no rises: the floor
    assert advice.startup_mb == round_up(2007) == 2048
    assert advice.maximum_mb == round_up(2007 * 1.10 * 1.2) == 2816
    capped = advise_vm("h", "V", _rows([6000.0] * 90, assigned=8192),
                       _settings(arch="x86"))
    assert capped.maximum_mb == 4096 and "capped at 4096MB" in capped.reason
    static = advise_vm("h", "V", flat, _settings(dynamic=False))
    assert static.refused and "Dynamic Memory is off" in static.reason


def test_percentile_and_rounding() -> None:
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([10, 20], 95) == 19.5
    assert (round_up(500), round_up(2049), round_up(8200), round_up(40000)) == (
        512, 2304, 8704, 40960)


def test_one_line_per_vm_evidence_with_v_and_table_to_a_file(hvdyn: Hvdyn, tmp_path: Path) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "96", "--interval", "300").exit_code == 0
    lines = hvdyn("recommend").stdout.splitlines()
    rows = [ln.split() for ln in lines if ln.startswith("hv-obs-")]
    assert [r[1] for r in rows if r[0] == "hv-obs-01"] == [
        "busy", "dup", "dup", "lowmin", "ok", "starved", "w7pro"]
    busy = next(r for r in rows if r[1] == "busy")
    assert busy[2] == "undersized" and busy[3] == "512MB->1920MB" and busy[-1] == "low"
    assert lines[-1] == "evidence per VM: -v, or --format json|yaml"
    verbose = hvdyn("recommend", "-v").stdout
    assert "\nevidence:\n" in verbose
    assert "  hv-obs-01/busy: maximum 2048MB leaves less than buffer + headroom; 96 samples" \
        in verbose
    assert json.loads(hvdyn("recommend", "--format", "json").stdout)["vms"][0]["confidence"] in (
        "low", "none")
    out = tmp_path / "advice.txt"
    assert hvdyn("recommend", "-o", out).exit_code == 0
    assert out.read_text().splitlines()[0].split()[:3] == ["host", "VM", "verdict"]
