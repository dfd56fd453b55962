"""Figures, the trust check and the verdict for one host, current against proposed.

Thresholds (documented in docs/whatif.md):
- a VM is at risk when its pressure is above 100 % (it wanted more memory
  than it got) in more than `RISK_SHARE` of the ticks it ran;
- a host does not fit when the startup RAM of the VMs that ran, plus the
  policy's reserve, is more than its RAM: after a host reboot they could not
  all start again (2008 R2 SP1 has no Smart Paging);
- a host is at risk when a VM is at risk, when the balancer's available
  memory is under `AVAILABLE_MIN_MB` in more than `RISK_SHARE` of the
  ticks, or when Dynamic Memory maximums exceed the policy's max_overcommit;
- the model fits the record when, replaying the settings as they were, the
  95th percentile of |model - recorded| assigned memory is within
  `TRUST_P95_PCT` % of the recorded value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hvdyn.analysis.audit import AVAILABLE_MIN_MB
from hvdyn.core.model import MemorySettings, format_mb
from hvdyn.core.sizes import dm_maximums_mb, overcommit_ratio
from hvdyn.whatif.history import Gap, HostHistory
from hvdyn.whatif.propose import Proposal
from hvdyn.whatif.replay import Outcome, SettingsGrid

if TYPE_CHECKING:
    from numpy.typing import NDArray

RISK_SHARE = 0.01
TRUST_P95_PCT = 10.0
CHART_POINTS = 500  # buckets per chart line
CHART_VMS = 6  # VMs drawn per host, most at risk first

FITS, AT_RISK, DOES_NOT_FIT = "fits", "at risk", "does not fit"
VERDICT_ORDER = {FITS: 0, AT_RISK: 1, DOES_NOT_FIT: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class VmFigures:
    p95_pressure: float | None
    max_pressure: float | None
    above_100_share: float | None  # of the ticks it ran
    mean_assigned_mb: float | None

    @property
    def at_risk(self) -> bool:
        return self.above_100_share is not None and self.above_100_share > RISK_SHARE


@dataclass(frozen=True, slots=True, kw_only=True)
class VmAnswer:
    vm_id: str
    name: str
    current_settings: MemorySettings | None  # the newest recorded
    proposed_settings: MemorySettings | None
    rules: tuple[str, ...]
    note: str
    running_ticks: int
    restarts: int
    demand_known: bool
    current: VmFigures
    proposed: VmFigures

    @property
    def changes(self) -> bool:
        return self.current_settings != self.proposed_settings


@dataclass(frozen=True, slots=True, kw_only=True)
class HostFigures:
    verdict: str
    reasons: tuple[str, ...]
    min_available_mb: int
    low_available_share: float
    startup_mb: int  # startup RAM of the VMs that ran
    capacity_mb: int  # host RAM less the reserve
    overcommit: float | None
    vms_at_risk: int
    contended_ticks: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Trust:
    cells: int  # VM-ticks compared (Dynamic Memory active, demand recorded)
    median_error_pct: float | None
    p95_error_pct: float | None
    median_error_mb: float | None
    p95_error_mb: float | None
    pressure_p95_error: float | None  # percentage points

    @property
    def fits(self) -> bool:
        return self.p95_error_pct is None or self.p95_error_pct <= TRUST_P95_PCT


@dataclass(frozen=True, slots=True, kw_only=True)
class HostSeries:
    """What the HTML page draws, cut to at most `CHART_POINTS` buckets per line.

    Each bucket keeps its worst value (lowest available memory, highest
    pressure) so a short dip or peak is never averaged away.
    """

    ticks: tuple[str, ...]  # first tick of each bucket
    available_current: tuple[int, ...]
    available_proposed: tuple[int, ...]
    pressure: dict[str, tuple[tuple[float | None, ...], tuple[float | None, ...]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class HostAnswer:
    host: str
    first_ts: str
    last_ts: str
    ticks: int
    interval_s: float
    gaps: tuple[Gap, ...]
    pool_measured: bool
    total_mb: int
    trust: Trust
    current: HostFigures
    proposed: HostFigures
    vms: tuple[VmAnswer, ...]
    not_replayed: tuple[str, ...] = ()  # running VMs without attributable counters
    series: HostSeries | None = None


def _buckets(length: int) -> list[tuple[int, int]]:
    size = max(1, -(-length // CHART_POINTS))
    return [(i, min(i + size, length)) for i in range(0, length, size)]


def _worst(values: NDArray[np.float64], spans: list[tuple[int, int]], *, low: bool
           ) -> tuple[float | None, ...]:
    out: list[float | None] = []
    for a, b in spans:
        chunk = values[a:b]
        chunk = chunk[~np.isnan(chunk)]
        out.append(None if not len(chunk) else float(chunk.min() if low else chunk.max()))
    return tuple(out)


def host_series(history: HostHistory, current: Outcome, proposed: Outcome,
                vms: list[VmAnswer]) -> HostSeries:
    """Chart data: host available memory, and pressure of the VMs most at risk."""
    spans = _buckets(len(history.ticks))
    worst = sorted(vms, key=lambda v: (-(v.proposed.above_100_share or 0),
                                       -(v.proposed.p95_pressure or 0), v.name.lower()))
    rows = {vm_id: i for i, vm_id in enumerate(history.vm_ids)}
    pressure = {
        v.vm_id: (_worst(current.pressure[rows[v.vm_id]], spans, low=False),
                  _worst(proposed.pressure[rows[v.vm_id]], spans, low=False))
        for v in worst[:CHART_VMS] if v.demand_known
    }
    def available(o: Outcome) -> tuple[int, ...]:
        return tuple(int(x or 0) for x in _worst(o.available.astype(np.float64), spans,
                                                  low=True))
    return HostSeries(ticks=tuple(history.ticks[a] for a, _ in spans),
                      available_current=available(current),
                      available_proposed=available(proposed), pressure=pressure)


def vm_figures(outcome: Outcome, running: NDArray[np.bool_], row: int) -> VmFigures:
    ran = running[row]
    if not ran.any():
        return VmFigures(p95_pressure=None, max_pressure=None, above_100_share=None,
                         mean_assigned_mb=None)
    mean = float(outcome.assigned[row][ran].mean())
    values = outcome.pressure[row][ran]
    values = values[~np.isnan(values)]
    if not len(values):
        return VmFigures(p95_pressure=None, max_pressure=None, above_100_share=None,
                         mean_assigned_mb=mean)
    return VmFigures(p95_pressure=float(np.percentile(values, 95)),
                     max_pressure=float(values.max()),
                     above_100_share=float(np.count_nonzero(values > 100) / len(values)),
                     mean_assigned_mb=mean)


def trust_check(history: HostHistory, current: SettingsGrid, capable: NDArray[np.bool_],
                replayed: Outcome) -> Trust:
    """How far the model, fed the settings as they were, lands from what was recorded."""
    cells = history.demand_known & current.dynamic & capable[:, None] & current.known[:, None]
    recorded = history.assigned[cells].astype(np.float64)
    if not len(recorded):
        return Trust(cells=0, median_error_pct=None, p95_error_pct=None, median_error_mb=None,
                     p95_error_mb=None, pressure_p95_error=None)
    error_mb = np.abs(replayed.assigned[cells] - recorded)
    error_pct = error_mb / recorded * 100
    pressure_error = np.abs(replayed.pressure[cells] - history.pressure[cells])
    return Trust(
        cells=len(recorded),
        median_error_pct=float(np.median(error_pct)),
        p95_error_pct=float(np.percentile(error_pct, 95)),
        median_error_mb=float(np.median(error_mb)),
        p95_error_mb=float(np.percentile(error_mb, 95)),
        pressure_p95_error=float(np.nanpercentile(pressure_error, 95)),
    )


def host_figures(history: HostHistory, grid: SettingsGrid, outcome: Outcome,
                 figures: list[VmFigures], *, reserve_mb: int, max_overcommit: float | None,
                 others: list[MemorySettings]) -> HostFigures:
    """`others`: settings of running VMs whose counters could not be replayed."""
    ran = history.running.any(axis=1)
    last = grid.startup_mb[:, -1]
    startup = int(last[ran & grid.known].sum()) + sum(o.startup_mb for o in others)
    capacity = history.total_mb - reserve_mb
    dynamic = grid.dynamic[:, -1] & grid.known
    maximums = int(grid.maximum_mb[:, -1][dynamic].sum()) + dm_maximums_mb(others)
    overcommit = overcommit_ratio(maximums, history.total_mb, reserve_mb)
    low_share = float(np.count_nonzero(outcome.available < AVAILABLE_MIN_MB)
                      / max(1, len(outcome.available)))
    at_risk = [f for f in figures if f.at_risk]
    reasons: list[str] = []
    verdict = FITS
    if startup + reserve_mb > history.total_mb:
        verdict = DOES_NOT_FIT
        reasons.append(f"startup RAM of the VMs that ran ({format_mb(startup)}) plus the "
                       f"{format_mb(reserve_mb)} reserve is above the host's "
                       f"{format_mb(history.total_mb)}: after a host reboot they could not all "
                       "start")
    if at_risk:
        verdict = max(verdict, AT_RISK, key=VERDICT_ORDER.__getitem__)
        reasons.append(f"{len(at_risk)} VM(s) above 100% pressure in more than "
                       f"{RISK_SHARE:.0%} of their samples")
    if low_share > RISK_SHARE:
        verdict = max(verdict, AT_RISK, key=VERDICT_ORDER.__getitem__)
        lowest = format_mb(int(outcome.available.min()))
        reasons.append(f"available memory under {format_mb(AVAILABLE_MIN_MB)} in "
                       f"{low_share:.0%} of the samples (lowest {lowest})")
    if overcommit is not None and max_overcommit is not None and overcommit > max_overcommit:
        verdict = max(verdict, AT_RISK, key=VERDICT_ORDER.__getitem__)
        reasons.append(f"Dynamic Memory maximums add up to {overcommit:.2f}x the memory left "
                       f"after the reserve, above the policy's max_overcommit {max_overcommit:g}")
    return HostFigures(
        verdict=verdict, reasons=tuple(reasons), min_available_mb=int(outcome.available.min()),
        low_available_share=low_share, startup_mb=startup, capacity_mb=capacity,
        overcommit=overcommit, vms_at_risk=len(at_risk), contended_ticks=outcome.contended_ticks,
    )


def answer(history: HostHistory, *, current_grid: SettingsGrid, proposed_grid: SettingsGrid,
           capable: NDArray[np.bool_], current: Outcome, proposed: Outcome,
           proposals: dict[str, Proposal], reserve_mb: int,
           max_overcommit: float | None, keep_series: bool = False,
           not_replayed: Sequence[tuple[str, Proposal]] = ()) -> HostAnswer:
    """`not_replayed`: (name, proposal) of running VMs whose samples are ambiguous."""
    vms: list[VmAnswer] = []
    now_figures: list[VmFigures] = []
    new_figures: list[VmFigures] = []
    known = np.asarray(history.demand_known.any(axis=1), dtype=np.bool_)
    for row, vm_id in enumerate(history.vm_ids):
        before = vm_figures(current, history.running, row)
        after = vm_figures(proposed, history.running, row)
        now_figures.append(before)
        new_figures.append(after)
        proposal = proposals.get(vm_id)
        note = proposal.note if proposal else "no settings recorded: modelled as it was seen"
        if not known[row]:
            extra = ("demand unknown (no pressure recorded: static or no DM driver); "
                     "modelled as using what it held")
            note = f"{note}; {extra}" if note else extra
        vms.append(VmAnswer(
            vm_id=vm_id, name=history.vm_names[row],
            current_settings=proposal.current if proposal else None,
            proposed_settings=proposal.target if proposal else None,
            rules=proposal.rules if proposal else (), note=note,
            running_ticks=int(np.count_nonzero(history.running[row])),
            restarts=history.restarts(row), demand_known=bool(known[row]),
            current=before, proposed=after,
        ))
    return HostAnswer(
        host=history.host, first_ts=history.ticks[0], last_ts=history.ticks[-1],
        ticks=len(history.ticks), interval_s=history.interval_s, gaps=tuple(history.gaps),
        pool_measured=history.pool_measured, total_mb=history.total_mb,
        trust=trust_check(history, current_grid, capable, current),
        current=host_figures(history, current_grid, current, now_figures,
                             reserve_mb=reserve_mb, max_overcommit=max_overcommit,
                             others=[p.current for _, p in not_replayed]),
        proposed=host_figures(history, proposed_grid, proposed, new_figures,
                              reserve_mb=reserve_mb, max_overcommit=max_overcommit,
                              others=[p.target for _, p in not_replayed]),
        vms=tuple(sorted(vms, key=lambda v: v.name.lower())),
        not_replayed=tuple(sorted(name for name, _ in not_replayed)),
        series=host_series(history, current, proposed, vms) if keep_series else None,
    )
