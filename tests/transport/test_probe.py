"""hvdyn probe over pywinrm against the fake WS-Management endpoint."""

from __future__ import annotations

import re
from pathlib import Path

from hvdyn.powershell.records import encode_stream
from hvdyn.run.probe import PROBE_EXIT_CODE, probe_host, render_probe

from .conftest import context_for, spec_for
from .fake_wsman import FakeWsman, Reply


def _answer(rc: int = PROBE_EXIT_CODE):  # type: ignore[no-untyped-def]
    def answer(script: str) -> Reply:
        """What a German 2008 R2 SP1 node prints for the probe (delivery from its prologue)."""
        match = re.search(r"^\$HvDelivery = '(\w+)'", script, re.MULTILINE)
        assert match and f"$HvExitCode = {PROBE_EXIT_CODE}" in script
        records = [
            {"t": "probe", "check": "delivery", "status": "ok", "value": match.group(1),
             "data": None},
            {"t": "probe", "check": "vm_captions", "status": "ok",
             "value": "2 VMs; Caption / Description: Virtueller Computer / x",
             "data": {"vms_by_guid_name": 2, "vms_by_english_caption": 0}},
            {"t": "probe", "check": "cluster", "status": "no",
             "value": "not a cluster node (root\\MSCluster is absent)", "data": None},
        ]
        return Reply(stdout=encode_stream("probe", records), rc=rc)

    return answer


def test_probe_tries_both_deliveries_and_sees_the_exit_code(tmp_path: Path) -> None:
    with FakeWsman(_answer()) as fake:
        result = probe_host(spec_for(fake), context_for(tmp_path), timeout_s=10)
        stdin_text = render_probe(spec_for(fake), "stdin").text
    assert result.ok, result
    assert result.deliveries == {"stdin": "ok", "file": "ok"}
    assert len(fake.scripts) == 2 and fake.scripts[0] == stdin_text
    checks = {c.check: c for c in result.checks}
    assert checks["exit_code"].status == "ok" and checks["exit_code"].data == PROBE_EXIT_CODE
    assert checks["vm_captions"].data["vms_by_english_caption"] == 0
    assert checks["cluster"].status == "no"
    assert checks["delivery_stdin"].status == checks["delivery_file"].status == "ok"
    assert fake.files == {} and fake.dirs == set()  # the file mode cleaned up


def test_probe_reports_a_lost_exit_code_and_a_broken_stdin(tmp_path: Path) -> None:
    with FakeWsman(_answer(rc=0)) as fake:
        fake.stdin_broken = True
        result = probe_host(spec_for(fake), context_for(tmp_path), timeout_s=10)
    assert result.ok
    checks = {c.check: c for c in result.checks}
    assert checks["delivery_stdin"].status == "no" and checks["delivery_file"].status == "ok"
    assert checks["exit_code"].status == "no"
    assert "saw 0" in (checks["exit_code"].value or "")


def test_probe_of_an_unreachable_host_fails_with_a_hint(tmp_path: Path) -> None:
    fake = FakeWsman().start()
    spec = spec_for(fake)
    fake.stop()
    result = probe_host(spec, context_for(tmp_path), timeout_s=5)
    assert not result.ok and result.error_kind == "ConnectError" and result.hint
