"""Health findings from stored counters: pressure, balancer memory, ambiguous names.

Raw samples or, for long windows, hourly/daily rollups; a threshold counts
as breached when it holds for most of the window (`SUSTAINED_SHARE`).
Thresholds follow Microsoft PFE guidance for 2008 R2 SP1 Dynamic Memory.
"""

from __future__ import annotations

import operator
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from hvdyn.analysis.audit.rules import (
    BALANCER_LOW,
    COUNTERS_AMBIGUOUS,
    DEMAND_NOT_MET,
    PRESSURE_HIGH,
)
from hvdyn.core.findings import Finding
from hvdyn.history.resolution import NAMES
from hvdyn.history.rows import BalancerRollupRow, BalancerRow, RollupRow, SampleRow

PRESSURE_WARN = 85  # % average pressure, sustained (PFE alert threshold)
PRESSURE_ERROR = 100  # % demand above assigned memory: the guest pages
AVAILABLE_MIN_MB = 2048  # balancer Available Memory floor
SUSTAINED_SHARE = 0.8  # share of a window's samples that must breach a threshold
MIN_SAMPLES = 3  # fewer samples in the window: no health verdict


@dataclass(frozen=True, slots=True, kw_only=True)
class VmHealth:
    """Window statistics of one VM, for reports and metrics."""

    vm_id: str
    vm_name: str
    samples: int
    mean_pressure: float | None
    assigned_mb: int | None  # newest PhysicalMemory


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
                      buffers: Mapping[str, int] | None = None) -> list[Finding]:
    """HVD110/111 per VM from Average Pressure; `buffers` = current buffer per VM id."""
    findings: list[Finding] = []
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
            findings.append(Finding(
                rule=DEMAND_NOT_MET, host=host, vm_id=vm_id, vm_name=name,
                message=f"average pressure {mean:.0f}% (above {PRESSURE_ERROR}% in "
                        f"{_share(values, PRESSURE_ERROR)} of {span}): the guest needs more "
                        "memory than it is given",
                remediation="raise maximum (see `hvdyn recommend`) or free host memory",
            ))
        elif _sustained(values, partial(operator.lt, limit)):
            findings.append(Finding(
                rule=PRESSURE_HIGH, host=host, vm_id=vm_id, vm_name=name,
                message=f"average pressure {mean:.0f}% (above {limit:.0f}% in "
                        f"{_share(values, limit)} of {span})",
                remediation="raise maximum or buffer (see `hvdyn recommend`)",
            ))
    ambiguous = sorted({s.vm_name for s in samples if s.ambiguous})
    for name in ambiguous:
        findings.append(Finding(
            rule=COUNTERS_AMBIGUOUS, host=host, vm_name=name,
            message=f"counter instance {name!r} matches several VMs (or none); its samples "
                    "are stored but not attributed",
            remediation="give each VM a unique display name",
        ))
    return findings


def _share(values: Sequence[float], threshold: float) -> str:
    """'40' of the window's samples (the sentence goes on: 'of 48 samples, ...')."""
    return str(sum(1 for v in values if v > threshold))


def balancer_findings(host: str, rows: Sequence[BalancerRow]) -> list[Finding]:
    values = [float(r.available_mb) for r in rows if r.available_mb is not None]
    if not _sustained(values, lambda v: v < AVAILABLE_MIN_MB):
        return []
    return [Finding(
        rule=BALANCER_LOW, host=host,
        message=f"balancer available memory averaged {statistics.fmean(values):.0f}MB, under "
                f"{AVAILABLE_MIN_MB}MB in {sum(1 for v in values if v < AVAILABLE_MIN_MB)} of "
                f"{len(values)} samples",
        remediation="lower maximums or startups on this host, or move VMs away",
    )]


def rollup_health(host: str, rows: Sequence[RollupRow], balancer: Sequence[BalancerRollupRow],
                  buffers: Mapping[str, int]) -> tuple[list[Finding], list[VmHealth]]:
    """HVD110/111/112/120 and per-VM health from rollups: a bucket breaches when its mean
    does; sustained = breaching buckets hold 80% of the window's samples."""
    findings: list[Finding] = []
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
        for rule, threshold in ((DEMAND_NOT_MET, float(PRESSURE_ERROR)), (PRESSURE_HIGH, limit)):
            hot = sum(n for v, n in weighted if v > threshold)
            if total >= MIN_SAMPLES and hot >= SUSTAINED_SHARE * total:
                findings.append(Finding(
                    rule=rule, host=host, vm_id=vm_id, vm_name=name,
                    message=f"average pressure {mean or 0:.0f}% (hourly/daily means above "
                            f"{threshold:.0f}% for {hot}/{total} samples, {what} "
                            f"{vm_rows[0].bucket}..{vm_rows[-1].bucket})",
                    remediation="raise maximum (see `hvdyn recommend`)" + (
                        " or free host memory" if rule is DEMAND_NOT_MET else " or buffer")))
                break
    for name in sorted({r.vm_name for r in rows if r.vm_id is None}):
        findings.append(Finding(
            rule=COUNTERS_AMBIGUOUS, host=host, vm_name=name,
            message=f"counter instance {name!r} matches several VMs (or none); its samples "
                    "are stored but not attributed",
            remediation="give each VM a unique display name"))
    avail = [(float(b.av_mean), b.n) for b in balancer if b.av_mean is not None]
    total = sum(n for _, n in avail)
    low = sum(n for v, n in avail if v < AVAILABLE_MIN_MB)
    if total >= MIN_SAMPLES and low >= SUSTAINED_SHARE * total:
        findings.append(Finding(
            rule=BALANCER_LOW, host=host,
            message=f"balancer available memory averaged "
                    f"{sum(v * n for v, n in avail) / total:.0f}MB, under {AVAILABLE_MIN_MB}MB "
                    f"in buckets holding {low}/{total} samples",
            remediation="lower maximums or startups on this host, or move VMs away"))
    return findings, sorted(health, key=lambda v: v.vm_name.lower())
