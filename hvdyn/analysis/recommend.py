"""Right-sizing advice from stored counters (formula: docs/recommend.md).

demand = CurrentPressure x PhysicalMemory / 100 per sample (what the guest
has committed). Startup covers the quiet level (P5), maximum the busy level
(P99) plus the buffer and a headroom, and the buffer the short-term rises
seen between samples. Too little history gives a refusal, never a guess.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from hvdyn.core.model import MAX_VM_MEMORY_MB
from hvdyn.history.rollups import merge_stats
from hvdyn.history.rows import RollupRow, SampleRow, VmSettingsRow, format_ts, parse_ts
from hvdyn.history.stats import percentile
from hvdyn.policy.schema import MIN_VM_MEMORY_MB

MIN_SAMPLES = 24
MIN_SPAN_S = 3600
MEDIUM_SPAN_S = 86400 - 3600  # a day of hourly samples spans 23 h
HIGH_SPAN_S = 7 * 86400 - 3600
BOOT_FLOOR_MB = 512  # Windows 7 / Server 2008 R2 guests do not boot well on less
X86_CAP_MB = 4096  # KB983545: 32-bit Vista/7 guests must stay at or below 4 GB
BUFFER_MIN, BUFFER_MAX = 10, 50


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    samples: int
    first_ts: str
    last_ts: str
    p5_mb: int
    p50_mb: int
    p95_mb: int
    p99_mb: int
    max_mb: int
    burst_pct: float  # P95 of rises between consecutive samples, % of demand


@dataclass(frozen=True, slots=True, kw_only=True)
class Advice:
    host: str
    vm_id: str
    vm_name: str
    current: VmSettingsRow | None
    startup_mb: int | None = None
    maximum_mb: int | None = None
    buffer: int | None = None
    verdict: str = ""  # undersized | oversized | right-sized | refused
    reason: str = ""
    brief: str = ""  # a few words of `reason` for one-line output ("DM off", "12 samples")
    evidence: Evidence | None = None

    @property
    def refused(self) -> bool:
        return self.startup_mb is None

    @property
    def confidence(self) -> str:
        """How far to trust the advice: `high`, `medium`, `low`, or `none` (refused).

        high: a week of history with at least hourly samples (weekday and
        weekend peaks seen); medium: a day of it (the daily cycle seen);
        low: enough to advise (MIN_SAMPLES over MIN_SPAN_S) but less than that.
        """
        e = self.evidence
        if self.refused or e is None:
            return "none"
        span = (parse_ts(e.last_ts) - parse_ts(e.first_ts)).total_seconds()
        if span >= HIGH_SPAN_S and e.samples >= HIGH_SPAN_S // 3600:
            return "high"
        if span >= MEDIUM_SPAN_S and e.samples >= MEDIUM_SPAN_S // 3600:
            return "medium"
        return "low"


__all__ = ["Advice", "Evidence", "advise", "advise_rollups", "advise_vm", "percentile",
           "round_up", "step_for"]


def step_for(mb: float) -> int:
    """Rounding step: 128MB up to 2GB, 256MB to 8GB, 512MB to 32GB, then 1GB."""
    if mb <= 2048:
        return 128
    if mb <= 8192:
        return 256
    if mb <= 32768:
        return 512
    return 1024


def round_up(mb: float) -> int:
    step = step_for(mb)
    return int(math.ceil(mb / step) * step)


def _refuse(host: str, vm_id: str, name: str, current: VmSettingsRow | None,
            reason: str, brief: str) -> Advice:
    return Advice(host=host, vm_id=vm_id, vm_name=name, current=current, verdict="refused",
                  reason=reason, brief=brief)


def _is_x86_client(current: VmSettingsRow | None) -> bool:
    os_name = (current.os or "").lower() if current else ""
    return bool(current and current.arch == "x86"
                and ("windows 7" in os_name or "windows vista" in os_name))


def advise_vm(host: str, vm_id: str, rows: Sequence[SampleRow], current: VmSettingsRow | None,
              *, headroom: float = 0.2) -> Advice:
    """Advice for one VM from its samples (oldest first), or a refusal that says why."""
    name = current.vm_name if current else (rows[-1].vm_name if rows else vm_id)
    if current is not None and not current.dynamic:
        return _refuse(host, vm_id, name, current,
                       "Dynamic Memory is off: its pressure counters read 0 and show no demand",
                       "DM off")
    usable = [r for r in rows if r.current_pressure and r.physical_mb]
    if len(usable) < MIN_SAMPLES:
        return _refuse(host, vm_id, name, current,
                       f"{len(usable)} samples with pressure; need at least {MIN_SAMPLES}",
                       f"{len(usable)}/{MIN_SAMPLES} samples")
    span = (parse_ts(usable[-1].ts) - parse_ts(usable[0].ts)).total_seconds()
    if span < MIN_SPAN_S:
        return _refuse(host, vm_id, name, current,
                       f"history spans {span / 60:.0f} min; need at least {MIN_SPAN_S // 60} min",
                       f"{span / 60:.0f} min of history")
    demand = [float(r.current_pressure or 0) * float(r.physical_mb or 0) / 100 for r in usable]
    rises = [max(0.0, (b - a) / a) for a, b in itertools.pairwise(demand) if a > 0]
    burst = percentile(rises, 95) * 100 if rises else 0.0
    evidence = Evidence(
        samples=len(usable), first_ts=usable[0].ts, last_ts=usable[-1].ts,
        p5_mb=round(percentile(demand, 5)), p50_mb=round(percentile(demand, 50)),
        p95_mb=round(percentile(demand, 95)), p99_mb=round(percentile(demand, 99)),
        max_mb=round(max(demand)), burst_pct=round(burst, 1),
    )
    return _from_evidence(host, vm_id, name, current, evidence, burst, headroom)


def advise_vm_rollups(host: str, vm_id: str, rows: Sequence[RollupRow],
                      current: VmSettingsRow | None, *, headroom: float = 0.2) -> Advice:
    """`advise_vm` from hourly/daily rollups (oldest first): percentiles merged per bucket."""
    name = current.vm_name if current else (rows[-1].vm_name if rows else vm_id)
    if current is not None and not current.dynamic:
        return _refuse(host, vm_id, name, current,
                       "Dynamic Memory is off: its pressure counters read 0 and show no demand",
                       "DM off")
    used = [r for r in rows if r.dm_n]
    merged = merge_stats(used)
    usable = int(merged["dm_n"] or 0)
    if usable < MIN_SAMPLES:
        return _refuse(host, vm_id, name, current,
                       f"{usable} samples with pressure; need at least {MIN_SAMPLES}",
                       f"{usable}/{MIN_SAMPLES} samples")
    first = parse_ts(used[0].bucket)
    last = parse_ts(used[-1].bucket) + timedelta(seconds=used[-1].res)
    span = (last - first).total_seconds()
    if span < MIN_SPAN_S:
        return _refuse(host, vm_id, name, current,
                       f"history spans {span / 60:.0f} min; need at least {MIN_SPAN_S // 60} min",
                       f"{span / 60:.0f} min of history")
    burst = (merged["burst_p95"] or 0) / 10
    evidence = Evidence(
        samples=usable, first_ts=used[0].bucket, last_ts=format_ts(last),
        p5_mb=int(merged["dm_p5"] or 0), p50_mb=int(merged["dm_p50"] or 0),
        p95_mb=int(merged["dm_p95"] or 0), p99_mb=int(merged["dm_p99"] or 0),
        max_mb=int(merged["dm_max"] or 0), burst_pct=round(burst, 1),
    )
    return _from_evidence(host, vm_id, name, current, evidence, burst, headroom)


def _from_evidence(host: str, vm_id: str, name: str, current: VmSettingsRow | None,
                   evidence: Evidence, burst: float, headroom: float) -> Advice:
    buffer = int(min(BUFFER_MAX, max(BUFFER_MIN, math.ceil(burst / 5) * 5)))
    cap = X86_CAP_MB if _is_x86_client(current) else MAX_VM_MEMORY_MB
    startup = min(cap, max(BOOT_FLOOR_MB, MIN_VM_MEMORY_MB, round_up(evidence.p5_mb)))
    maximum = round_up(evidence.p99_mb * (1 + buffer / 100) * (1 + headroom))
    maximum = min(cap, max(maximum, startup))
    verdict, reason = _verdict(current, startup, maximum, evidence)
    brief = "no settings stored" if current is None else ""
    if maximum == cap and evidence.p99_mb * (1 + buffer / 100) > cap:
        reason += f"; capped at {cap}MB"
        brief = f"capped at {cap}MB"
    return Advice(host=host, vm_id=vm_id, vm_name=name, current=current, startup_mb=startup,
                  maximum_mb=maximum, buffer=buffer, verdict=verdict, reason=reason,
                  brief=brief, evidence=evidence)


def _verdict(current: VmSettingsRow | None, startup: int, maximum: int, ev: Evidence
             ) -> tuple[str, str]:
    if current is None:
        return "unknown", "no stored settings for this VM (collect again)"
    if current.maximum_mb < ev.p99_mb:
        return "undersized", (f"busy demand (P99 {ev.p99_mb}MB) is above the maximum "
                              f"{current.maximum_mb}MB")
    if current.maximum_mb < maximum:
        return "undersized", f"maximum {current.maximum_mb}MB leaves less than buffer + headroom"
    if current.maximum_mb >= 2 * maximum or current.startup_mb >= 2 * startup:
        return "oversized", (f"configured {current.startup_mb}/{current.maximum_mb}MB against "
                             f"advised {startup}/{maximum}MB")
    return "right-sized", "within a factor of two of the advice"


def advise(host: str, samples: Sequence[SampleRow], settings: Sequence[VmSettingsRow],
           *, headroom: float = 0.2) -> list[Advice]:
    """Advice for every VM of a host that has settings or unambiguous samples."""
    by_vm: dict[str, list[SampleRow]] = {}
    for s in sorted(samples, key=lambda r: r.ts):
        if s.vm_id is not None and not s.ambiguous:
            by_vm.setdefault(s.vm_id.upper(), []).append(s)
    return _advise_all(host, by_vm, settings, lambda vm_id, rows, current: advise_vm(
        host, vm_id, rows, current, headroom=headroom))


_Row = TypeVar("_Row")


def _advise_all(host: str, by_vm: dict[str, list[_Row]], settings: Sequence[VmSettingsRow],
                one: Callable[[str, list[_Row], VmSettingsRow | None], Advice]) -> list[Advice]:
    """Each VM with settings or rows: refused when its name is shared, else `one`."""
    current = {s.vm_id.upper(): s for s in settings}
    names = Counter(s.vm_name for s in settings)
    out = [
        _refuse(host, vm_id, current[vm_id].vm_name, current[vm_id],
                "display name shared with another VM: its counters cannot be attributed",
                "name not unique")
        if vm_id in current and names[current[vm_id].vm_name] > 1 else
        one(vm_id, by_vm.get(vm_id, []), current.get(vm_id))
        for vm_id in sorted(set(by_vm) | set(current))
    ]
    return sorted(out, key=lambda a: a.vm_name.lower())


def advise_rollups(host: str, rollups: Sequence[RollupRow], settings: Sequence[VmSettingsRow],
                   *, headroom: float = 0.2) -> list[Advice]:
    """`advise` from a window's rollup rows instead of raw samples."""
    by_vm: dict[str, list[RollupRow]] = {}
    for r in sorted(rollups, key=lambda r: r.bucket):
        if r.vm_id is not None:
            by_vm.setdefault(r.vm_id.upper(), []).append(r)
    return _advise_all(host, by_vm, settings, lambda vm_id, rows, current: advise_vm_rollups(
        host, vm_id, rows, current, headroom=headroom))
