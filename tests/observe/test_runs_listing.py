"""runs lists every kind of run; rollback refuses runs that changed nothing; the id comes last."""

from __future__ import annotations

import json

from tests.runner import Hvdyn

from .conftest import INVENTORY, POLICY


def test_every_run_is_listed_with_its_kind(hvdyn: Hvdyn) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "3").exit_code == 0
    assert hvdyn("audit", POLICY).exit_code == 2
    applied = hvdyn("apply", POLICY, "--allow-restart")
    assert applied.exit_code == 0, applied.stderr
    listed = json.loads(hvdyn("runs", "--format", "json").stdout)["runs"]
    assert [(r["id"], r["command"]) for r in listed] == [(3, "apply"), (2, "audit"),
                                                         (1, "collect")]
    table = hvdyn("runs").stdout.splitlines()
    assert [ln.split()[:2] for ln in table[1:]] == [["3", "apply"], ["2", "audit"],
                                                    ["1", "collect"]]
    only = hvdyn("runs", "--command", "apply,collect", "--format", "json").json()["runs"]
    assert [r["command"] for r in only] == ["apply", "collect"]
    bad = hvdyn("runs", "--command", "aply")
    assert bad.exit_code == 3 and "allowed: apply, rollback, audit, collect" in bad.stderr


def test_rollback_of_a_run_that_changed_nothing_is_refused(hvdyn: Hvdyn) -> None:
    assert hvdyn("collect", "-i", INVENTORY, "--samples", "3").exit_code == 0
    assert hvdyn("audit", POLICY).exit_code == 2
    for run_id, kind in (("1", "a collect"), ("2", "an audit")):
        refused = hvdyn("rollback", run_id, "-i", INVENTORY)
        assert refused.exit_code == 3
        assert f"run {run_id} is {kind}: nothing to roll back" in refused.stderr
    assert [r["command"] for r in json.loads(hvdyn("runs", "--format", "json").stdout)["runs"]] == [
        "audit", "collect"]  # no "rollback" run was journaled


def test_run_id_is_in_the_last_lines(hvdyn: Hvdyn) -> None:
    applied = hvdyn("apply", POLICY, "--allow-restart")
    assert applied.exit_code == 0
    assert applied.stdout.rstrip().splitlines()[-1].endswith("; run 1")
    assert applied.stderr.rstrip().splitlines()[-1].startswith("apply: run 1 (exit 0)")
    as_json = json.loads(hvdyn("apply", POLICY, "--format", "json").stdout)
    assert as_json["run_id"] == 2
    undone = hvdyn("rollback", "1")
    assert undone.stdout.rstrip().splitlines()[-1].endswith("; run 3")
    shown = hvdyn("runs", "show", "1").stdout
    assert "buffer" in shown and "%" in shown  # plan's format: 10% -> 20%, not 10 -> 20
    assert "applied  applied" not in shown
