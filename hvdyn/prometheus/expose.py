"""Metric families from the exporter's host views (a prometheus_client collector).

Counter instances that map to no or several VMs (duplicate display names)
are not exposed per VM: they cannot be attributed. They are counted in
`hvdyn_vm_ambiguous_counter_instances` (the audit reports them as HVD112).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hvdyn.analysis.catalog import RULES
from hvdyn.history import metric_names as m
from hvdyn.history.rows import parse_ts
from hvdyn.prometheus.exporter import HostView


def _family(series: m.Series, labels: Sequence[str]) -> GaugeMetricFamily | CounterMetricFamily:
    if series.counter:
        return CounterMetricFamily(series.name, series.help, labels=list(labels))
    return GaugeMetricFamily(series.name, series.help, labels=list(labels))


def _rows_family(series: m.Series, labels: Sequence[str],
                 rows: Iterable[tuple[list[str], object]]) -> Metric:
    family = _family(series, labels)
    for label_values, row in rows:
        value = getattr(row, series.field)
        if value is not None:
            family.add_metric(label_values, float(int(value) * series.scale))
    return family


def _gauge(name: str, help_text: str, labels: Sequence[str],
           values: Iterable[tuple[list[str], float | None]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=list(labels))
    for label_values, value in values:
        if value is not None:
            family.add_metric(label_values, value)
    return family


def families(views: Sequence[HostView]) -> Iterator[Metric]:
    """Every family, from a consistent set of views (each view is immutable)."""
    yield from _collection(views)
    ok = [(v, v.batch) for v in views if v.batch is not None]
    samples = [([v.host, s.vm_name, s.vm_id or ""], s) for v, b in ok for s in b.samples
               if s.vm_id is not None and not s.ambiguous]
    for series in m.VM_SAMPLE_SERIES:
        yield _rows_family(series, m.VM_LABELS, samples)
    settings = [([v.host, s.vm_name, s.vm_id], s) for v, b in ok for s in b.settings]
    for series in m.VM_SETTINGS_SERIES:
        yield _rows_family(series, m.VM_LABELS, settings)
    info = GaugeMetricFamily(m.VM_INFO, "Guest facts of the VM (value 1): os and arch as the "
                             "integration services last reported them.",
                             labels=[*m.VM_LABELS, "os", "arch"])
    for labels, s in settings:
        info.add_metric([*labels, s.os or "", s.arch or ""], 1.0)
    yield info
    balancer = [([v.host, b.name], b) for v, batch in ok for b in batch.balancer]
    for series in m.BALANCER_SERIES:
        yield _rows_family(series, ("host", "balancer"), balancer)
    memory = [([v.host], b.memory) for v, b in ok if b.memory is not None]
    for series in m.HOST_MEMORY_SERIES:
        yield _rows_family(series, ("host",), memory)
    yield _gauge(m.AMBIGUOUS, "Counter instances (VM display names) that map to no or "
                 "several VMs: not exposed per VM.", ("host",),
                 [([v.host], float(len({s.vm_name for s in b.samples if s.ambiguous})))
                  for v, b in ok])
    yield from _audit(views)


def _ts(text: str | None) -> float | None:
    return None if text is None else parse_ts(text).timestamp()


def _collection(views: Sequence[HostView]) -> Iterator[Metric]:
    host = ("host",)
    yield _gauge(m.UP, "1 when the newest collection of the host succeeded; 0 when it failed "
                 "(its other series then keep their last values).", host,
                 [([v.host], 1.0 if v.up else 0.0) for v in views])
    yield _gauge(m.SAMPLE_TIMESTAMP, "When the exposed counters were sampled, on the host's "
                 "clock (Unix time).", host,
                 [([v.host], _ts(v.batch.sample_ts if v.batch else None)) for v in views])
    yield _gauge(m.COLLECTION_TIMESTAMP, "When the newest collection attempt ended (Unix time, "
                 "exporter clock).", host, [([v.host], v.attempted_at) for v in views])
    yield _gauge(m.COLLECTION_SUCCESS_TIMESTAMP, "When the newest successful collection ended "
                 "(Unix time, exporter clock).", host, [([v.host], v.succeeded_at) for v in views])
    yield _gauge(m.COLLECTION_DURATION, "How long the newest collection attempt took.", host,
                 [([v.host], v.duration_s) for v in views])
    total = CounterMetricFamily(m.COLLECTIONS, "Collection attempts since the exporter started.",
                                labels=list(host))
    failed = CounterMetricFamily(m.COLLECTION_FAILURES, "Failed collection attempts since the "
                                 "exporter started.", labels=list(host))
    for v in views:
        total.add_metric([v.host], float(v.collections))
        failed.add_metric([v.host], float(v.failures))
    yield total
    yield failed


def _audit(views: Sequence[HostView]) -> Iterator[Metric]:
    audited = [v for v in views if v.audit is not None]
    if not audited:
        return
    findings = GaugeMetricFamily(m.AUDIT_FINDINGS, "Audit findings by host, finding id and "
                                 "severity (absent = 0).", labels=["host", "id", "severity"])
    drift = GaugeMetricFamily(m.DRIFT, "Settings of the VM that differ from the policy.",
                              labels=list(m.VM_LABELS))
    success = GaugeMetricFamily(m.AUDIT_SUCCESS, "1 when the host was discovered and audited.",
                                labels=["host"])
    overcommit = GaugeMetricFamily(m.OVERCOMMIT, "Sum of DM maximums over (host RAM - policy "
                                   "reserve).", labels=["host"])
    when = GaugeMetricFamily(m.AUDIT_TIMESTAMP, "When the host's newest audit ended (Unix "
                             "time, exporter clock).", labels=["host"])
    for v in audited:
        audit = v.audit
        assert audit is not None
        for finding_id, n in audit.findings:
            findings.add_metric([v.host, finding_id, RULES[finding_id].severity], float(n))
        success.add_metric([v.host], 1.0 if audit.success else 0.0)
        if audit.overcommit is not None:
            overcommit.add_metric([v.host], round(audit.overcommit, 4))
        for vm_name, vm_id, drifted in audit.drift:
            drift.add_metric([v.host, vm_name, vm_id], float(drifted))
        if v.audited_at is not None:
            when.add_metric([v.host], v.audited_at)
    yield from (findings, drift, success, overcommit, when)


class ViewsCollector(Collector):
    """Registered on the exporter's registry; reads the views at each scrape."""

    def __init__(self, views: Callable[[], Sequence[HostView]]) -> None:
        self._views = views

    def collect(self) -> Iterable[Metric]:
        return list(families(self._views()))
