"""The audit's rules: what drift, health and host findings mean, declared once.

The table of finding ids in docs/metrics.md is generated from these
(`hvdyn.analysis.catalog.audit_table`); a finding takes its id, severity and
kind from its rule.
"""

from __future__ import annotations

from hvdyn.core.findings import Kind, Rule, Severity

HOST_FAILED = Rule(
    id="HVD100", severity=Severity.ERROR, kind=Kind.HOST,
    title="the host could not be audited (unreachable, script failed): exit 1",
)
SETTING_DRIFT = Rule(
    id="HVD101", severity=Severity.WARNING, kind=Kind.DRIFT,
    title="a setting differs from the policy (exactly what `hvdyn plan` would change)",
)
MINIMUM_DRIFT = Rule(
    id="HVD102", severity=Severity.WARNING, kind=Kind.DRIFT,
    title="minimum (Reservation) differs from startup; SP1 policy writes them equal",
)
PRESSURE_HIGH = Rule(
    id="HVD110", severity=Severity.WARNING, kind=Kind.HEALTH,
    title="VM *Average Pressure* above 85% in at least 80% of the window's samples (at "
    "least 3). With a buffer under 20% the balancer settles at 100/(1+buffer) by design, "
    "so the threshold becomes that plus 1.5 points (91% -> 92.4% for a 10% buffer)",
)
DEMAND_NOT_MET = Rule(
    id="HVD111", severity=Severity.ERROR, kind=Kind.HEALTH,
    title="VM *Average Pressure* above 100% in at least 80% of the samples: the guest has "
    "committed more than it is given and pages",
)
COUNTERS_AMBIGUOUS = Rule(
    id="HVD112", severity=Severity.INFO, kind=Kind.HEALTH,
    title="a counter instance (display name) matches several VMs or none: stored, not "
    "attributed",
)
BALANCER_LOW = Rule(
    id="HVD120", severity=Severity.WARNING, kind=Kind.HEALTH,
    title="balancer *Available Memory* under 2 GB in at least 80% of the samples",
)
OVERCOMMITTED = Rule(
    id="HVD130", severity=Severity.ERROR, kind=Kind.HEALTH,
    title="sum of DM maximums / (host RAM - `host.reserve`) above the policy's "
    "`host.max_overcommit`",
)
DM_UNUSABLE = Rule(
    id="HVD140", severity=Severity.ERROR, kind=Kind.HEALTH,
    title="Dynamic Memory is enabled on a guest OS that cannot use it on 2008 R2 SP1 "
    "(same list as check HVD001)",
)
NO_SAMPLES = Rule(
    id="HVD150", severity=Severity.INFO, kind=Kind.HEALTH,
    title="no samples stored for the host in the window: health not assessed",
)

AUDIT_RULES: tuple[Rule, ...] = (
    HOST_FAILED,
    SETTING_DRIFT,
    MINIMUM_DRIFT,
    PRESSURE_HIGH,
    DEMAND_NOT_MET,
    COUNTERS_AMBIGUOUS,
    BALANCER_LOW,
    OVERCOMMITTED,
    DM_UNUSABLE,
    NO_SAMPLES,
)
