"""Build tests/history/data/store_v2.sqlite3 with the store code of release e26611d.

Run from a checkout of that commit (schema version 2), e.g.
    git archive e26611d hvdyn templates | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python tests/history/make_legacy_store.py OUT.sqlite3
The committed file is the output; the upgrade test reads it, never this script.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hvdyn.core.model import Change, GuestInfo, HostFacts, MemorySettings, VmFacts, VmState
from hvdyn.history import Store
from hvdyn.history.rows import (
    AuditRow,
    BalancerRow,
    HostMemoryRow,
    SampleRow,
    VmSettingsRow,
    format_ts,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)
VMS = [("0A000001-0000-4000-8000-000000000001", "web"),
       ("0A000001-0000-4000-8000-000000000002", "db, \"main\"\n=1+2")]


def main(out: Path) -> None:
    store = Store(out)
    run = store.start_run("collect", options={"samples": 30})
    for host in ("hv-a", "hv-b"):
        for i in range(30):  # a sample every 5 minutes for 2.5 hours
            ts = format_ts(T0 + timedelta(minutes=5 * i))
            samples = [SampleRow(host=host, vm_id=vm_id, vm_name=name, ts=ts,
                                 physical_mb=1024 + 16 * i + k, guest_visible_mb=2048,
                                 current_pressure=60 + (i * 7 + k) % 40,
                                 average_pressure=70 + (i * 3) % 20, minimum_pressure=50,
                                 maximum_pressure=99, added_mb=i, removed_mb=0, add_ops=i,
                                 remove_ops=0, run_id=run) for k, (vm_id, name) in enumerate(VMS)]
            samples.append(SampleRow(host=host, vm_id=None, vm_name="dup", ts=ts,
                                     physical_mb=512, current_pressure=80, ambiguous=True,
                                     extra='{"_ids": ["X1", "X2"]}', run_id=run))
            samples.append(SampleRow(host=host, vm_id=None, vm_name="dup", ts=ts,
                                     physical_mb=768, current_pressure=81, ambiguous=True,
                                     extra='{"_ids": ["X1", "X2"]}', run_id=run))
            settings = [VmSettingsRow(host=host, vm_id=vm_id, vm_name=name, ts=ts, state=2,
                                      dynamic=True, startup_mb=1024,
                                      maximum_mb=4096 if i < 20 else 8192, minimum_mb=512,
                                      buffer=20, weight=5000, os="Windows Server 2008 R2",
                                      arch="x64", run_id=run) for vm_id, name in VMS]
            store.add_collection(
                samples=samples,
                balancer=[BalancerRow(host=host, name="bal", ts=ts, available_mb=3000 - i,
                                      average_pressure=75, extra='{"SystemCurrentPressure": 1}',
                                      run_id=run)],
                host_memory=[HostMemoryRow(host=host, ts=ts, total_mb=65536, free_mb=9000,
                                           reserve_mb=2048, run_id=run)],
                vm_settings=settings)
    store.finish_run(run, outcome="ok", exit_code=0)
    apply_run = store.start_run("apply", policy_path="/p.yaml", policy_digest="d1")
    store.journal_intent(apply_run, host="hv-a", vm_id=VMS[0][0], vm_name="web",
                         changes=[Change(field="maximum_mb", current=4096, desired=8192,
                                         needs_off=False)], state_before=2)
    store.journal_outcome(apply_run, vm_id=VMS[0][0], outcome="applied",
                          after=MemorySettings(dynamic=True, startup_mb=1024, minimum_mb=512,
                                               maximum_mb=8192, buffer=20, weight=5000),
                          state_after=2)
    store.finish_run(apply_run, outcome="changed", exit_code=0)
    audit_run = store.start_run("audit")
    store.add_audit([AuditRow(run_id=audit_run, host="hv-a", vm_id=VMS[1][0], vm_name=VMS[1][1],
                              finding_id="HVD110", severity="warning", message="hot",
                              remediation="raise maximum")])
    store.finish_run(audit_run, outcome="drift", exit_code=2)
    facts = HostFacts(name="hv-a", total_mb=65536, free_mb=9000, vms=(
        VmFacts(id=VMS[0][0], name="web", state=VmState(2),
                memory=MemorySettings(dynamic=True, startup_mb=1024, minimum_mb=512,
                                      maximum_mb=8192, buffer=20, weight=5000),
                guest=GuestInfo(os_name="Windows Server 2008 R2", os_version="6.1.7601",
                                arch="x64", ic_version="6.1.7601.17514")),))
    store.remember_guests("hv-a", facts.vms)
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
