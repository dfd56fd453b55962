"""Audit: drift findings from a plan, health findings from stored counters.

Drift reuses the engine in plan mode, so "differs from the policy" means
exactly what `hvdyn plan` would change. Health reads the samples `hvdyn
collect` stored over a window that ends at each host's newest sample (the
host's clock: "now" for real hosts, simulated time for the lab).
Thresholds follow Microsoft PFE guidance, the pressure one adjusted for the
buffer (docs/metrics.md, docs/reference-notes.md).
"""

from __future__ import annotations

import operator
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from hvdyn.core.errors import EXIT_FAILED, EXIT_OK, EXIT_PENDING
from hvdyn.core.model import HostFacts, HostResult, HostSpec, HostStatus, format_mb
from hvdyn.history import Store, window_start
from hvdyn.history.resolution import NAMES, RAW, resolution_for
from hvdyn.history.rows import AuditRow, BalancerRollupRow, BalancerRow, RollupRow, SampleRow
from hvdyn.planning.checks import guest_dm_support
from hvdyn.policy.load import Policy
from hvdyn.run.engine import Engine, RunOptions
from hvdyn.transport import Transport

PRESSURE_WARN = 85  # % average pressure, sustained (PFE alert threshold)
PRESSURE_ERROR = 100  # % demand above assigned memory: the guest pages
AVAILABLE_MIN_MB = 2048  # balancer Available Memory floor
SUSTAINED_SHARE = 0.8  # share of a window's samples that must breach a threshold
MIN_SAMPLES = 3  # fewer samples in the window: no health verdict

# id -> (severity, kind, summary); the table in docs/metrics.md lists these.
CATALOG: dict[str, tuple[str, str, str]] = {
    "HVD100": ("error", "host", "host could not be audited (unreachable or failed)"),
    "HVD101": ("warning", "drift", "a setting differs from the policy"),
    "HVD102": ("warning", "drift", "minimum (Reservation) differs from startup"),
    "HVD110": ("warning", "health", "VM average pressure above 85% (buffer-aware) sustained"),
    "HVD111": ("error", "health", "VM average pressure above 100% sustained: demand not met"),
    "HVD112": ("info", "health", "counters ambiguous: several VMs share a display name"),
    "HVD120": ("warning", "health", "balancer available memory under 2 GB sustained"),
    "HVD130": ("error", "health", "sum of DM maximums over (RAM - reserve) above max_overcommit"),
    "HVD140": ("error", "health", "Dynamic Memory enabled on a guest that cannot use it"),
    "HVD150": ("info", "health", "no samples in the window: health not assessed"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFinding:
    id: str
    host: str
    message: str
    remediation: str
    vm_id: str | None = None
    vm_name: str | None = None

    @property
    def severity(self) -> str:
        return CATALOG[self.id][0]

    @property
    def kind(self) -> str:
        return CATALOG[self.id][1]

    @property
    def fails(self) -> bool:
        """Drift and error findings fail a JUnit test case and make the exit code 2."""
        return self.kind == "drift" or self.severity == "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class VmHealth:
    """Window statistics of one VM, for reports and metrics."""

    vm_id: str
    vm_name: str
    samples: int
    mean_pressure: float | None
    assigned_mb: int | None  # newest PhysicalMemory


@dataclass(frozen=True, slots=True, kw_only=True)
class HostAudit:
    host: str
    result: HostResult
    window: tuple[str, str] | None  # (start, end) on the host's clock
    samples: list[SampleRow] = field(default_factory=list)
    balancer: list[BalancerRow] = field(default_factory=list)
    vms: list[VmHealth] = field(default_factory=list)
    overcommit: float | None = None

    @property
    def facts(self) -> HostFacts | None:
        return self.result.plan.facts

    @property
    def failed(self) -> bool:
        return self.result.status in (HostStatus.FAILED, HostStatus.UNREACHABLE)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    policy: str
    since: timedelta
    hosts: list[HostAudit]
    findings: list[AuditFinding]
    run_id: int | None = None

    @property
    def exit_code(self) -> int:
        if any(h.failed for h in self.hosts):
            return EXIT_FAILED
        if any(f.fails for f in self.findings):
            return EXIT_PENDING
        return EXIT_OK


# ---------------------------------------------------------------- drift


def drift_findings(result: HostResult) -> list[AuditFinding]:
    """One finding per planned/pending/blocked change of each VM."""
    findings: list[AuditFinding] = []
    for vm_plan in result.plan.vms:
        vm = vm_plan.vm
        for change in vm_plan.changes:
            minimum_off = change.field == "minimum_mb" and vm.memory.minimum_mb != (
                vm.memory.startup_mb
            )
            what = _show(change.field, change.current)
            want = _show(change.field, change.desired)
            status = f" ({change.status}: {change.reason})" if change.reason else ""
            if minimum_off:
                findings.append(AuditFinding(
                    id="HVD102", host=result.host, vm_id=vm.id, vm_name=vm.name,
                    message=f"minimum is {what} but startup is "
                            f"{format_mb(vm.memory.startup_mb)}; policy wants {want}{status}",
                    remediation="run `hvdyn apply` (needs the VM off: --allow-restart)",
                ))
                continue
            findings.append(AuditFinding(
                id="HVD101", host=result.host, vm_id=vm.id, vm_name=vm.name,
                message=f"{change.field} is {what}, policy wants {want}{status}",
                remediation="run `hvdyn apply`" + (
                    " (needs the VM off: --allow-restart)" if change.needs_off else ""),
            ))
    return findings


def _show(name: str, value: bool | int) -> str:
    if name == "dynamic":
        return "dynamic" if value else "static"
    if name.endswith("_mb"):
        return format_mb(int(value))
    return f"{value}%" if name == "buffer" else str(value)


# ---------------------------------------------------------------- health


def _sustained(values: Sequence[float], breach: Callable[[float], bool]) -> bool:
    return len(values) >= MIN_SAMPLES and sum(1 for v in values if breach(v)) >= (
        SUSTAINED_SHARE * len(values)
    )


def vm_health(samples: Sequence[SampleRow]) -> list[VmHealth]:
    by_vm: dict[str, list[SampleRow]] = defaultdict(list)
    for s in samples:
        if s.vm_id is not None and not s.ambiguous:
            by_vm[s.vm_id].append(s)
    out: list[VmHealth] = []
    for vm_id, rows in by_vm.items():
        pressures = [r.average_pressure for r in rows if r.average_pressure is not None]
        out.append(VmHealth(
            vm_id=vm_id, vm_name=rows[-1].vm_name, samples=len(rows),
            mean_pressure=statistics.fmean(pressures) if pressures else None,
            assigned_mb=rows[-1].physical_mb,
        ))
    return sorted(out, key=lambda v: v.vm_name.lower())


def warn_threshold(buffer: int | None) -> float:
    """85% (PFE, for the default 20% buffer); a smaller buffer settles higher by design.

    The balancer aims at pressure 100 / (1 + buffer%): 83% for a 20% buffer,
    91% for 10%. Warn 1.5 points above that when it is above 85.
    """
    if buffer is None:
        return float(PRESSURE_WARN)
    return max(float(PRESSURE_WARN), 100 / (1 + buffer / 100) + 1.5)


def pressure_findings(host: str, samples: Sequence[SampleRow],
                      buffers: Mapping[str, int] | None = None) -> list[AuditFinding]:
    """HVD110/111 per VM from Average Pressure; `buffers` = current buffer per VM id."""
    findings: list[AuditFinding] = []
    by_vm: dict[str, list[SampleRow]] = defaultdict(list)
    for s in samples:
        if s.vm_id is not None and not s.ambiguous:
            by_vm[s.vm_id].append(s)
    for vm_id, rows in sorted(by_vm.items()):
        values = [float(r.average_pressure) for r in rows if r.average_pressure is not None]
        name = rows[-1].vm_name
        mean = statistics.fmean(values) if values else 0.0
        span = f"{len(values)} samples, {rows[0].ts}..{rows[-1].ts}"
        limit = warn_threshold((buffers or {}).get(vm_id))
        if _sustained(values, lambda v: v > PRESSURE_ERROR):
            findings.append(AuditFinding(
                id="HVD111", host=host, vm_id=vm_id, vm_name=name,
                message=f"average pressure {mean:.0f}% (above {PRESSURE_ERROR}% in "
                        f"{_share(values, PRESSURE_ERROR)} of {span}): the guest needs more "
                        "memory than it is given",
                remediation="raise maximum (see `hvdyn recommend`) or free host memory",
            ))
        elif _sustained(values, partial(operator.lt, limit)):
            findings.append(AuditFinding(
                id="HVD110", host=host, vm_id=vm_id, vm_name=name,
                message=f"average pressure {mean:.0f}% (above {limit:.0f}% in "
                        f"{_share(values, limit)} of {span})",
                remediation="raise maximum or buffer (see `hvdyn recommend`)",
            ))
    ambiguous = sorted({s.vm_name for s in samples if s.ambiguous})
    for name in ambiguous:
        findings.append(AuditFinding(
            id="HVD112", host=host, vm_name=name,
            message=f"counter instance {name!r} matches several VMs (or none); its samples "
                    "are stored but not attributed",
            remediation="give each VM a unique display name",
        ))
    return findings


def _share(values: Sequence[float], threshold: float) -> str:
    """'40' of the window's samples (the sentence goes on: 'of 48 samples, ...')."""
    return str(sum(1 for v in values if v > threshold))


def balancer_findings(host: str, rows: Sequence[BalancerRow]) -> list[AuditFinding]:
    values = [float(r.available_mb) for r in rows if r.available_mb is not None]
    if not _sustained(values, lambda v: v < AVAILABLE_MIN_MB):
        return []
    return [AuditFinding(
        id="HVD120", host=host,
        message=f"balancer available memory averaged {statistics.fmean(values):.0f}MB, under "
                f"{AVAILABLE_MIN_MB}MB in {sum(1 for v in values if v < AVAILABLE_MIN_MB)} of "
                f"{len(values)} samples",
        remediation="lower maximums or startups on this host, or move VMs away",
    )]


def rollup_health(host: str, rows: Sequence[RollupRow], balancer: Sequence[BalancerRollupRow],
                  buffers: Mapping[str, int]) -> tuple[list[AuditFinding], list[VmHealth]]:
    """HVD110/111/112/120 and per-VM health from rollups: a bucket breaches when its mean
    does; sustained = breaching buckets hold 80% of the window's samples."""
    findings: list[AuditFinding] = []
    health: list[VmHealth] = []
    by_vm: dict[str, list[RollupRow]] = defaultdict(list)
    for r in rows:
        if r.vm_id is not None:
            by_vm[r.vm_id].append(r)
    for vm_id, vm_rows in sorted(by_vm.items()):
        vm_rows.sort(key=lambda r: r.bucket)
        name, what = vm_rows[-1].vm_name, NAMES[vm_rows[0].res]
        weighted = [(float(r.ap_mean), r.n) for r in vm_rows if r.ap_mean is not None]
        total = sum(n for _, n in weighted)
        mean = sum(v * n for v, n in weighted) / total if total else None
        health.append(VmHealth(vm_id=vm_id, vm_name=name, samples=sum(r.n for r in vm_rows),
                               mean_pressure=mean, assigned_mb=vm_rows[-1].mb_mean))
        limit = warn_threshold(buffers.get(vm_id))
        for finding_id, threshold in (("HVD111", float(PRESSURE_ERROR)), ("HVD110", limit)):
            hot = sum(n for v, n in weighted if v > threshold)
            if total >= MIN_SAMPLES and hot >= SUSTAINED_SHARE * total:
                findings.append(AuditFinding(
                    id=finding_id, host=host, vm_id=vm_id, vm_name=name,
                    message=f"average pressure {mean or 0:.0f}% (hourly/daily means above "
                            f"{threshold:.0f}% for {hot}/{total} samples, {what} "
                            f"{vm_rows[0].bucket}..{vm_rows[-1].bucket})",
                    remediation="raise maximum (see `hvdyn recommend`)" + (
                        " or free host memory" if finding_id == "HVD111" else " or buffer")))
                break
    for name in sorted({r.vm_name for r in rows if r.vm_id is None}):
        findings.append(AuditFinding(
            id="HVD112", host=host, vm_name=name,
            message=f"counter instance {name!r} matches several VMs (or none); its samples "
                    "are stored but not attributed",
            remediation="give each VM a unique display name"))
    avail = [(float(b.av_mean), b.n) for b in balancer if b.av_mean is not None]
    total = sum(n for _, n in avail)
    low = sum(n for v, n in avail if v < AVAILABLE_MIN_MB)
    if total >= MIN_SAMPLES and low >= SUSTAINED_SHARE * total:
        findings.append(AuditFinding(
            id="HVD120", host=host,
            message=f"balancer available memory averaged "
                    f"{sum(v * n for v, n in avail) / total:.0f}MB, under {AVAILABLE_MIN_MB}MB "
                    f"in buckets holding {low}/{total} samples",
            remediation="lower maximums or startups on this host, or move VMs away"))
    return findings, sorted(health, key=lambda v: v.vm_name.lower())


def overcommit_ratio(facts: HostFacts, reserve_mb: int) -> float | None:
    usable = facts.total_mb - reserve_mb
    if usable <= 0:
        return None
    return sum(vm.memory.maximum_mb for vm in facts.vms if vm.memory.dynamic) / usable


def config_findings(facts: HostFacts, policy: Policy) -> list[AuditFinding]:
    findings: list[AuditFinding] = []
    ratio = overcommit_ratio(facts, policy.host_reserve_mb)
    if ratio is not None and policy.max_overcommit is not None and ratio > policy.max_overcommit:
        findings.append(AuditFinding(
            id="HVD130", host=facts.name,
            message=f"DM maximums add up to {ratio:.2f}x of RAM minus reserve "
                    f"({format_mb(facts.total_mb)} - {format_mb(policy.host_reserve_mb)}); "
                    f"the policy allows {policy.max_overcommit:g}x",
            remediation="lower maximums in the policy or raise host.max_overcommit",
        ))
    for vm in facts.vms:
        if vm.memory.dynamic and guest_dm_support(vm.guest.os_name) is False:
            findings.append(AuditFinding(
                id="HVD140", host=facts.name, vm_id=vm.id, vm_name=vm.name,
                message=f"Dynamic Memory is on but {vm.guest.os_name!r} cannot use it: the VM "
                        "is stuck at its startup memory",
                remediation="make the VM static in the policy (dynamic: false) and apply",
            ))
    return findings


# ---------------------------------------------------------------- the audit


def host_audit(result: HostResult, policy: Policy, store: Store, since: timedelta,
               *, keep_samples: bool = True) -> tuple[HostAudit, list[AuditFinding]]:
    """Drift, configuration and health findings of one host.

    Health reads raw samples or, for long windows, rollups (`resolution_for`);
    `keep_samples=False` drops raw samples once judged (only charts need them),
    so a fleet audit holds one host's window at a time.
    """
    host = result.host
    findings: list[AuditFinding] = []
    if result.status in (HostStatus.FAILED, HostStatus.UNREACHABLE) and result.error:
        findings.append(AuditFinding(id="HVD100", host=host, message=result.error,
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
        findings.append(AuditFinding(
            id="HVD150", host=host, message="no counter samples stored for this host",
            remediation="run `hvdyn collect` (e.g. from a timer, see docs/scheduled-audit.md)",
        ))
    audit = HostAudit(
        host=host, result=result,
        window=(start, end) if start and end else None,
        samples=samples if keep_samples else [], balancer=balancer, vms=health or [],
        overcommit=None if facts is None else overcommit_ratio(facts, policy.host_reserve_mb),
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
    findings: list[AuditFinding] = []
    for result in results:
        audit, host_findings = host_audit(result, policy, store, since,
                                          keep_samples=keep_samples)
        audits.append(audit)
        findings += host_findings
    return AuditReport(policy=str(policy.path), since=since, hosts=audits, findings=findings)


def store_audit(store: Store, run_id: int, report: AuditReport) -> None:
    store.add_audit([
        AuditRow(run_id=run_id, host=f.host, vm_id=f.vm_id, vm_name=f.vm_name, finding_id=f.id,
                 severity=f.severity, message=f.message, remediation=f.remediation)
        for f in report.findings
    ])
