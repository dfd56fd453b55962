"""Audit a fleet: plan every host (nothing is sent), then judge drift, configuration, health.

Health reads the samples `hvdyn collect` stored over a window that ends at
each host's newest sample (the host's clock: "now" for real hosts, simulated
time for the lab).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from hvdyn.analysis.audit.drift import config_findings, drift_findings, host_overcommit
from hvdyn.analysis.audit.health import (
    VmHealth,
    balancer_findings,
    pressure_findings,
    rollup_health,
    vm_health,
)
from hvdyn.analysis.audit.result import AuditReport, HostAudit
from hvdyn.analysis.audit.rules import HOST_FAILED, NO_SAMPLES
from hvdyn.core.findings import Finding
from hvdyn.core.model import HostResult, HostSpec, HostStatus
from hvdyn.history import Store, window_start
from hvdyn.history.resolution import RAW, resolution_for
from hvdyn.history.rows import AuditRow, SampleRow
from hvdyn.policy.evaluate import Policy
from hvdyn.run.engine import Engine, RunOptions
from hvdyn.transport import Transport


def host_audit(result: HostResult, policy: Policy, store: Store, since: timedelta,
               *, keep_samples: bool = True) -> tuple[HostAudit, list[Finding]]:
    """Drift, configuration and health findings of one host.

    Health reads raw samples or, for long windows, rollups (`resolution_for`);
    `keep_samples=False` drops raw samples once judged (only charts need them),
    so a fleet audit holds one host's window at a time.
    """
    host = result.host
    findings: list[Finding] = []
    if result.status in (HostStatus.FAILED, HostStatus.UNREACHABLE) and result.error:
        findings.append(Finding(rule=HOST_FAILED, host=host, message=result.error,
                                remediation="check the host with `hvdyn ping` and rerun"))
    findings += drift_findings(result)
    facts = result.plan.facts
    if facts is not None:
        findings += config_findings(facts, policy)
    start = window_start(store, host, since)
    end = store.newest_ts(host)
    buffers = {} if facts is None else {
        vm.id.upper(): vm.memory.buffer for vm in facts.vms if vm.memory.dynamic}
    res = resolution_for(store, host, since) if start else RAW
    health: list[VmHealth] | None = None
    if res != RAW and start:
        rollups = store.rollups(host, res, since=start)
        health_findings, health = rollup_health(
            host, rollups, store.balancer_rollups(host, res, start), buffers)
        findings += health_findings
        samples: list[SampleRow] = []
        balancer = store.balancer_samples(host=host, since=end) if end else []
    else:
        samples = (store.samples(host=host, since=start) if keep_samples
                   else store.brief_samples(host=host, since=start)) if start else []
        balancer = store.balancer_samples(host=host, since=start) if start else []
    if health is not None or samples or balancer:
        if health is None:
            findings += pressure_findings(host, samples, buffers)
            findings += balancer_findings(host, balancer)
            health = vm_health(samples)
    else:
        findings.append(Finding(
            rule=NO_SAMPLES, host=host, message="no counter samples stored for this host",
            remediation="run `hvdyn collect` (e.g. from a timer, see docs/scheduled-audit.md)",
        ))
    audit = HostAudit(
        host=host, result=result,
        window=(start, end) if start and end else None,
        samples=samples if keep_samples else [], balancer=balancer, vms=health or [],
        overcommit=None if facts is None else host_overcommit(facts, policy.host_reserve_mb),
    )
    return audit, findings


def run_audit(
    policy: Policy,
    hosts: Sequence[HostSpec],
    transport_for: Callable[[HostSpec], Transport],
    store: Store,
    *,
    since: timedelta,
    forks: int = 10,
    keep_samples: bool = True,
) -> AuditReport:
    """Plan every host (no change is sent), then add health findings from the store."""
    options = RunOptions(mode="plan", forks=forks)
    results = Engine(policy, transport_for, options, guests=store).run(hosts)
    audits: list[HostAudit] = []
    findings: list[Finding] = []
    for result in results:
        audit, host_findings = host_audit(result, policy, store, since,
                                          keep_samples=keep_samples)
        audits.append(audit)
        findings += host_findings
    return AuditReport(policy=str(policy.path), since=since, hosts=audits, findings=findings)


def store_audit(store: Store, run_id: int, report: AuditReport) -> None:
    store.add_audit([
        AuditRow(run_id=run_id, host=f.host, vm_id=f.vm_id, vm_name=f.vm_name, finding_id=f.id,
                 severity=str(f.severity), message=f.message, remediation=f.remediation)
        for f in report.findings
    ])
