"""runs lists every kind of run; rollback refuses runs that changed nothing; the id comes last."""

from __future__ import annotations

import json

from .conftest import INVENTORY, POLICY, Hv


def test_every_run_is_listed_with_its_kind(hv: Hv) -> None:
    assert hv("collect", "-i", INVENTORY, "--samples", "3").code == 0
    assert hv("audit", POLICY).code == 2
    applied = hv("apply", POLICY, "--allow-restart")
    assert applied.code == 0, applied.err
    listed = json.loads(hv("runs", "--format", "json").out)["runs"]
    assert [(r["id"], r["command"]) for r in listed] == [(3, "apply"), (2, "audit"),
                                                         (1, "collect")]
    table = hv("runs").out.splitlines()
    assert [ln.split()[:2] for ln in table[1:]] == [["3", "apply"], ["2", "audit"],
                                                    ["1", "collect"]]
    only = json.loads(hv("runs", "--command", "apply,collect", "--format", "json").out)["runs"]
    assert [r["command"] for r in only] == ["apply", "collect"]
    bad = hv("runs", "--command", "aply")
    assert bad.code == 3 and "allowed: apply, rollback, audit, collect" in bad.err


def test_rollback_of_a_run_that_changed_nothing_is_refused(hv: Hv) -> None:
    assert hv("collect", "-i", INVENTORY, "--samples", "3").code == 0
    assert hv("audit", POLICY).code == 2
    for run_id, kind in (("1", "a collect"), ("2", "an audit")):
        refused = hv("rollback", run_id, "-i", INVENTORY)
        assert refused.code == 3
        assert f"run {run_id} is {kind}: nothing to roll back" in refused.err
    assert [r["command"] for r in json.loads(hv("runs", "--format", "json").out)["runs"]] == [
        "audit", "collect"]  # no "rollback" run was journaled


def test_run_id_is_in_the_last_lines(hv: Hv) -> None:
    applied = hv("apply", POLICY, "--allow-restart")
    assert applied.code == 0
    assert applied.out.rstrip().splitlines()[-1].endswith("; run 1")
    assert applied.err.rstrip().splitlines()[-1].startswith("apply: run 1 (exit 0)")
    as_json = json.loads(hv("apply", POLICY, "--format", "json").out)
    assert as_json["run_id"] == 2
    undone = hv("rollback", "1")
    assert undone.out.rstrip().splitlines()[-1].endswith("; run 3")
    shown = hv("runs", "show", "1").out
    assert "buffer" in shown and "%" in shown  # plan's format: 10% -> 20%, not 10 -> 20
    assert "applied  applied" not in shown
