"""Charts of long windows read from hourly/daily rollups (one point per bucket).

The raw-sample charts live in `hvdyn.formats.charts`; these draw the same
quantities from aggregates: mean and peak per bucket, so a 90-day chart has
90 (daily) or a 7-day chart 168 (hourly) points per line, whatever the
sampling interval was.
"""

from __future__ import annotations

from collections.abc import Sequence

from hvdyn.formats.charts import AVAILABLE_LINE, PRESSURE_LINE
from hvdyn.formats.svg import Chart, Series
from hvdyn.history.resolution import NAMES
from hvdyn.history.rows import BalancerRollupRow, RollupRow, VmSettingsRow, parse_ts


def _what(rows: Sequence[RollupRow | BalancerRollupRow]) -> str:
    return NAMES.get(rows[0].res, "rollups") if rows else "rollups"


def vm_pressure(vm_name: str, rows: Sequence[RollupRow]) -> Chart:
    mean = [(parse_ts(r.bucket), float(r.ap_mean)) for r in rows if r.ap_mean is not None]
    peak = [(parse_ts(r.bucket), float(r.cp_max)) for r in rows if r.cp_max is not None]
    series = [s for s in (Series(name="average pressure (mean)", points=mean),
                          Series(name="current pressure (peak)", points=peak)) if s.points]
    return Chart(title=f"{vm_name}: memory pressure ({_what(rows)})", unit="%", series=series,
                 thresholds=[(PRESSURE_LINE, "85%")])


def vm_memory(vm_name: str, rows: Sequence[RollupRow], settings: VmSettingsRow | None) -> Chart:
    mean = [(parse_ts(r.bucket), float(r.mb_mean)) for r in rows if r.mb_mean is not None]
    peak = [(parse_ts(r.bucket), float(r.mb_max)) for r in rows if r.mb_max is not None]
    series = [s for s in (Series(name="assigned (mean)", points=mean),
                          Series(name="assigned (peak)", points=peak, dashed=True)) if s.points]
    if settings is not None and mean:
        ends = [mean[0][0], mean[-1][0]]
        series.append(Series(name=f"startup {settings.startup_mb}MB", dashed=True,
                             color="#2ca02c",
                             points=[(t, float(settings.startup_mb)) for t in ends]))
        if settings.dynamic:
            series.append(Series(name=f"maximum {settings.maximum_mb}MB", dashed=True,
                                 color="#d62728",
                                 points=[(t, float(settings.maximum_mb)) for t in ends]))
    return Chart(title=f"{vm_name}: assigned memory ({_what(rows)})", unit="MB", series=series)


def host_available(host: str, rows: Sequence[BalancerRollupRow]) -> Chart:
    mean = [(parse_ts(r.bucket), float(r.av_mean)) for r in rows if r.av_mean is not None]
    low = [(parse_ts(r.bucket), float(r.av_min)) for r in rows if r.av_min is not None]
    series = [s for s in (Series(name="available memory (mean)", points=mean),
                          Series(name="available memory (lowest)", points=low, dashed=True))
              if s.points]
    return Chart(title=f"{host}: balancer available memory ({_what(rows)})", unit="MB",
                 series=series, thresholds=[(AVAILABLE_LINE, "2 GB")])
