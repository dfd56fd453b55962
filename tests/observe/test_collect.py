"""collect and export: what lands in the store, ambiguity, failures, CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hvdyn.history import open_store
from tests.runner import Hvdyn

from .conftest import DATA, INVENTORY


def test_collect_stores_samples_settings_and_flags_ambiguous(hvdyn: Hvdyn, state: Path) -> None:
    run = hvdyn("collect", "-i", INVENTORY, "--samples", "6", "--interval", "300",
             "--format", "json")
    assert run.exit_code == 0
    doc = json.loads(run.stdout)
    by_host = {h["host"]: h for h in doc["hosts"]}
    assert by_host["hv-obs-01"]["ambiguous"] == ["dup"]
    assert by_host["hv-obs-01"]["samples"] == 7 * 6 and by_host["hv-obs-01"]["vms"] == 5
    assert doc["summary"]["ambiguous"] == ["hv-obs-01/dup"]
    with open_store(state) as store:
        samples = store.samples(host="hv-obs-01")
        dup = [s for s in samples if s.vm_name == "dup"]
        assert len(dup) == 12 and all(s.ambiguous and s.vm_id is None for s in dup)
        assert "0A000001-0000-4000-8000-000000000006" in json.loads(dup[0].extra)["_ids"]
        times = sorted({s.ts for s in samples})
        assert times[0] == "2026-01-05T00:05:00Z" and times[-1] == "2026-01-05T00:30:00Z"
        settings = {s.vm_name: s for s in store.latest_vm_settings(host="hv-obs-01")}
        assert settings["lowmin"].minimum_mb == 512 and settings["ok"].buffer == 25
        memory = store.host_memory(host="hv-obs-02")
        assert len(memory) == 1 and memory[0].total_mb == 6144
        balancer = store.balancer_samples(host="hv-obs-02")
        assert len(balancer) == 6 and all(b.available_mb is not None for b in balancer)
        # counters this version has no column for are kept, not dropped
        assert "SystemCurrentPressure" in json.loads(balancer[0].extra)
        run_row = store.runs(command="collect")[0]
        assert run_row.exit_code == 0 and json.loads(run_row.options)["samples"] == 6


def test_second_collect_continues_the_hosts_clock(hvdyn: Hvdyn, state: Path) -> None:
    for _ in range(2):
        run = hvdyn("collect", "-i", INVENTORY, "--limit", "hv-obs-02", "--samples", "3")
        assert run.exit_code == 0
    with open_store(state) as store:
        times = [b.ts for b in store.balancer_samples(host="hv-obs-02")]
    assert len(times) == 6 and times == sorted(times) and len(set(times)) == 6


def test_failed_host_exits_1_and_others_are_stored(hvdyn: Hvdyn, tmp_path: Path, state: Path
                                                   ) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text("all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n"
                   f"    gone: {{hvdyn_mock_fixture: {DATA / 'gone.yaml'}}}\n"
                   f"    hv-obs-02: {{hvdyn_mock_fixture: {DATA / 'obs-02.yaml'}}}\n")
    run = hvdyn("collect", "-i", inv, "--samples", "2")
    assert run.exit_code == 1
    assert "unreachable" in run.stdout
    with open_store(state) as store:
        assert store.sample_hosts() == ["hv-obs-02"]


def test_keep_prunes_old_history(hvdyn: Hvdyn, state: Path) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--limit", "hv-obs-02", "--samples", "10",
              "--interval", "3600").exit_code == 0
    run = hvdyn("collect", "-i", INVENTORY, "--limit", "hv-obs-02", "--samples", "1",
             "--keep", "3h", "--format", "json")
    assert run.exit_code == 0
    # samples at 01:00..10:00 and 10:01; 3h back from 10:01 keeps 08:00 onwards
    assert json.loads(run.stdout)["pruned"]["balancer_samples"] == 7
    with open_store(state) as store:
        times = [b.ts[11:16] for b in store.balancer_samples(host="hv-obs-02")]
    assert times == ["08:00", "09:00", "10:00", "10:01"]


def test_bad_keep_is_invalid_input(hvdyn: Hvdyn) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--keep", "forever").exit_code == 3


def test_export_csv(hvdyn: Hvdyn, tmp_path: Path) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "4").exit_code == 0
    run = hvdyn("export", "samples", "--format", "csv", "--host", "hv-obs-01")
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert len(rows) == 7 * 4
    assert {"host", "vm_id", "vm_name", "ts", "physical_mb", "current_pressure",
            "ambiguous", "extra"} <= set(rows[0])
    starved = [r for r in rows if r["vm_name"] == "starved"]
    assert all(int(r["current_pressure"]) > 100 for r in starved)
    assert {r["ambiguous"] for r in rows if r["vm_name"] == "dup"} == {"1"}
    recent = hvdyn("export", "samples", "--since", "1m", "-o", tmp_path / "s.csv")
    lines = (tmp_path / "s.csv").read_text().splitlines()
    # 1m back from 00:04 (start inclusive): 00:03 and 00:04, 8 VM instances on the two hosts
    assert recent.exit_code == 0 and len(lines) == 1 + 2 * 8
    assert {line.split(",")[3] for line in lines[1:]} == {"2026-01-05T00:03:00Z",
                                                          "2026-01-05T00:04:00Z"}
