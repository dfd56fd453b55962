"""Charts of stored history: pressure, assigned memory, host available memory."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from hvdyn.formats.svg import Chart, Series
from hvdyn.store_rows import BalancerRow, SampleRow, VmSettingsRow, parse_ts

PRESSURE_LINE = 85.0
AVAILABLE_LINE = 2048.0


def _by_vm(samples: Sequence[SampleRow]) -> dict[str, list[SampleRow]]:
    groups: dict[str, list[SampleRow]] = defaultdict(list)
    for s in samples:
        if s.vm_id is not None and not s.ambiguous:
            groups[s.vm_id].append(s)
    return dict(sorted(groups.items(), key=lambda kv: kv[1][-1].vm_name.lower()))


def host_pressure(host: str, samples: Sequence[SampleRow]) -> Chart:
    series = [
        Series(name=rows[-1].vm_name,
               points=[(parse_ts(r.ts), float(r.average_pressure)) for r in rows
                       if r.average_pressure is not None])
        for rows in _by_vm(samples).values()
    ]
    return Chart(title=f"{host}: average pressure per VM", unit="%", series=series,
                 thresholds=[(PRESSURE_LINE, "85%")])


def host_assigned(host: str, samples: Sequence[SampleRow]) -> Chart:
    series = [
        Series(name=rows[-1].vm_name,
               points=[(parse_ts(r.ts), float(r.physical_mb)) for r in rows
                       if r.physical_mb is not None])
        for rows in _by_vm(samples).values()
    ]
    return Chart(title=f"{host}: assigned memory per VM", unit="MB", series=series)


def host_available(host: str, rows: Sequence[BalancerRow]) -> Chart:
    points = [(parse_ts(r.ts), float(r.available_mb)) for r in rows if r.available_mb is not None]
    return Chart(title=f"{host}: balancer available memory", unit="MB",
                 series=[Series(name="available memory", points=points)] if points else [],
                 thresholds=[(AVAILABLE_LINE, "2 GB")])


def vm_memory(vm_name: str, rows: Sequence[SampleRow], settings: VmSettingsRow | None) -> Chart:
    """Assigned memory of one VM against its startup and maximum."""
    points = [(parse_ts(r.ts), float(r.physical_mb)) for r in rows if r.physical_mb is not None]
    series = [Series(name="assigned", points=points)] if points else []
    if settings is not None and len(points) > 0:
        ends = [points[0][0], points[-1][0]]
        series.append(Series(name=f"startup {settings.startup_mb}MB", dashed=True,
                             color="#2ca02c",
                             points=[(t, float(settings.startup_mb)) for t in ends]))
        if settings.dynamic:
            series.append(Series(name=f"maximum {settings.maximum_mb}MB", dashed=True,
                                 color="#d62728",
                                 points=[(t, float(settings.maximum_mb)) for t in ends]))
    return Chart(title=f"{vm_name}: assigned memory", unit="MB", series=series)


def vm_pressure(vm_name: str, rows: Sequence[SampleRow]) -> Chart:
    current = [(parse_ts(r.ts), float(r.current_pressure)) for r in rows
               if r.current_pressure is not None]
    average = [(parse_ts(r.ts), float(r.average_pressure)) for r in rows
               if r.average_pressure is not None]
    series = [s for s in (Series(name="current pressure", points=current),
                          Series(name="average pressure", points=average)) if s.points]
    return Chart(title=f"{vm_name}: memory pressure", unit="%", series=series,
                 thresholds=[(PRESSURE_LINE, "85%")])
