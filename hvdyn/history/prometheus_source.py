"""Read hvdyn's history back from a Prometheus server (HTTP API) as store rows.

Why this can give exactly what the SQLite store gives: the exporter exposes
the host's sample time (`hvdyn_sample_timestamp_seconds`) next to the
counters, and Prometheus stamps every series of one scrape with the same
scrape time. Prometheus scrapes the same collected sample several times
(scrape interval <= collection interval); for each sample time the first
scrape that showed it is read, so every collected sample becomes one row with
the host's timestamp, never one row per scrape. Raw samples are read with
range selectors (`metric[R]`), never `query_range` steps, so nothing is
interpolated. Values are bytes in Prometheus and MB in the rows (exact).

What Prometheus does not hold: counters of ambiguous instances, counters
hvdyn does not know (`extra` is "{}"), run ids, and anything older than its
retention or the look-back asked for.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hvdyn.core.errors import HvdynError, InputError
from hvdyn.history import metric_names as m
from hvdyn.history.rows import BalancerRow, HostMemoryRow, SampleRow, VmSettingsRow, format_ts

# Labels hvdyn sets; every other label (job, instance, external labels) names the target.
_OWN_LABELS = frozenset({"__name__", "host", "vm", "vm_id", "balancer", "os", "arch"})

Target = frozenset[tuple[str, str]]


class PrometheusError(HvdynError):
    """The server could not be asked or refused the query (exit 1)."""


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@dataclass(frozen=True, slots=True)
class _Series:
    target: Target
    labels: dict[str, str]
    values: list[tuple[float, float]]  # (scrape time, value); NaN/Inf points dropped


@dataclass
class _HostData:
    # target -> scrape time -> host sample time, only for the first scrape of each sample time
    chosen: dict[Target, dict[float, str]] = field(default_factory=dict)
    newest: str | None = None


class PrometheusSource:
    """The history reader `recommend` and `report` use with --prometheus-url."""

    def __init__(self, url: str, *, lookback: timedelta, timeout_s: float = 60.0,
                 now: float | None = None) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError(f"--prometheus-url {url!r}: use http(s)://HOST:PORT")
        self.url = url.rstrip("/")
        self._range = f"{max(1, int(lookback.total_seconds()))}s"
        self._timeout_s = timeout_s
        self._now = time.time() if now is None else now
        self._hosts: dict[str, _HostData] = {}

    def __enter__(self) -> PrometheusSource:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    # ------------------------------------------------------------ HTTP API

    def _get(self, path: str, params: list[tuple[str, str]]) -> Any:
        query = urllib.parse.urlencode(params)
        request = urllib.request.Request(f"{self.url}{path}?{query}",
                                         headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            detail = _error_text(body) or f"HTTP {exc.code}"
            raise PrometheusError(f"prometheus {self.url}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError(f"prometheus {self.url}: {reason}") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise PrometheusError(f"prometheus {self.url}: the answer is not JSON "
                                  "(is this the Prometheus server?)") from None
        if not isinstance(document, dict) or "status" not in document:
            raise PrometheusError(f"prometheus {self.url}: the answer is not a Prometheus API "
                                  "answer (is this the Prometheus server?)")
        if document.get("status") != "success":
            raise PrometheusError(f"prometheus {self.url}: {document.get('error', document)}")
        if "data" not in document:
            raise PrometheusError(f"prometheus {self.url}: the answer holds no data")
        return document["data"]

    def _series(self, name: str, host: str) -> list[_Series]:
        """Raw samples of one metric of one host over the look-back, per series."""
        selector = f"{name}{{host={promql_string(host)}}}[{self._range}]"
        data = self._get("/api/v1/query", [("query", selector), ("time", f"{self._now:.3f}")])
        kind = data.get("resultType") if isinstance(data, dict) else None
        if kind != "matrix":
            raise PrometheusError(f"prometheus {self.url}: {selector} gave {kind}")
        out: list[_Series] = []
        try:
            for series in data["result"]:
                labels: dict[str, str] = series["metric"]
                target = frozenset((k, v) for k, v in labels.items() if k not in _OWN_LABELS)
                points = [(float(t), number) for t, value in series.get("values", [])
                          if (number := _finite(value)) is not None]
                out.append(_Series(target, labels, points))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise PrometheusError(f"prometheus {self.url}: {selector} gave a malformed "
                                  "matrix") from None
        return out

    # ------------------------------------------------------------ sample times

    def _host(self, host: str) -> _HostData:
        data = self._hosts.get(host)
        if data is None:
            data = _HostData()
            for series in self._series(m.SAMPLE_TIMESTAMP, host):
                chosen = data.chosen.setdefault(series.target, {})
                seen: set[str] = set(chosen.values())
                for t, value in sorted(series.values):
                    try:
                        ts = format_ts(datetime.fromtimestamp(value, UTC))
                    except (OverflowError, OSError, ValueError):  # not a time hvdyn wrote
                        continue
                    if ts not in seen:  # the first scrape that showed this sample
                        seen.add(ts)
                        chosen[t] = ts
            data.newest = max((ts for c in data.chosen.values() for ts in c.values()),
                              default=None)
            self._hosts[host] = data
        return data

    def _rows(self, names: Iterable[tuple[str, str, int]], host: str, key_label: str,
              since: str | None) -> dict[tuple[str, str], dict[str, Any]]:
        """(sample time, key label value) -> {field: value in store units, labels}."""
        chosen = self._host(host).chosen
        rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
        for name, field_name, scale in names:
            for series in self._series(name, host):
                times = chosen.get(series.target)
                if times is None:
                    continue
                key_value = series.labels.get(key_label, "")
                for t, value in series.values:
                    ts = times.get(t)  # an int or a float: equal keys hash alike
                    if ts is None or (since is not None and ts < since):
                        continue
                    row = rows[(ts, key_value)]
                    if field_name == "_info":  # labels are the values (os, arch)
                        row.setdefault("_info", series.labels)
                    elif field_name not in row:  # a second target with the same sample: skip
                        row[field_name] = round(value / scale)
                        row.setdefault("_labels", series.labels)
        return rows

    # ------------------------------------------------------------ the store's reads

    def sample_hosts(self) -> list[str]:
        data = self._get("/api/v1/series", [
            ("match[]", m.SAMPLE_TIMESTAMP), ("start", f"{self._now - self._seconds():.3f}"),
            ("end", f"{self._now:.3f}")])
        if not isinstance(data, list):
            raise PrometheusError(f"prometheus {self.url}: /api/v1/series gave no list")
        return sorted({s["host"] for s in data if isinstance(s, dict) and "host" in s})

    def _seconds(self) -> float:
        return float(self._range[:-1])

    def newest_ts(self, host: str) -> str | None:
        return self._host(host).newest

    def samples(self, *, host: str, since: str | None = None,
                include_ambiguous: bool = True) -> list[SampleRow]:
        """VM samples of a host (ambiguous ones are never exported, so never returned)."""
        series = [(s.exposed, s.field, s.scale) for s in m.VM_SAMPLE_SERIES]
        out = []
        for (ts, vm_id), row in self._rows(series, host, "vm_id", since).items():
            labels = row.pop("_labels")
            out.append(SampleRow(host=host, vm_id=vm_id, vm_name=labels.get("vm", ""), ts=ts,
                                 **row))
        return sorted(out, key=lambda r: (r.ts, r.vm_name, r.vm_id or ""))

    def balancer_samples(self, *, host: str, since: str | None = None) -> list[BalancerRow]:
        series = [(s.exposed, s.field, s.scale) for s in m.BALANCER_SERIES]
        out = []
        for (ts, name), row in self._rows(series, host, "balancer", since).items():
            row.pop("_labels")
            out.append(BalancerRow(host=host, name=name, ts=ts, **row))
        return sorted(out, key=lambda r: (r.ts, r.name))

    def host_memory(self, *, host: str, since: str | None = None) -> list[HostMemoryRow]:
        """The host's total/free memory (and reserve, when set) at each sample time."""
        series = [(s.exposed, s.field, s.scale) for s in m.HOST_MEMORY_SERIES]
        out = []
        for (ts, _), row in self._rows(series, host, "host", since).items():
            row.pop("_labels")
            if "total_mb" in row and "free_mb" in row:
                out.append(HostMemoryRow(host=host, ts=ts, **row))
        return sorted(out, key=lambda r: r.ts)

    def latest_vm_settings(self, *, host: str) -> list[VmSettingsRow]:
        """The newest complete settings of every VM seen in the look-back."""
        series = [(s.exposed, s.field, s.scale) for s in m.VM_SETTINGS_SERIES]
        rows = self._rows([*series, (m.VM_INFO, "_info", 1)], host, "vm_id", None)
        newest: dict[str, VmSettingsRow] = {}
        wanted = {s.field for s in m.VM_SETTINGS_SERIES}
        info = {key: row["_info"] for key, row in rows.items() if "_info" in row}
        for (ts, vm_id), row in sorted(rows.items()):
            if not wanted <= row.keys():
                continue
            guest = info.get((ts, vm_id), {})
            newest[vm_id] = VmSettingsRow(
                host=host, vm_id=vm_id, vm_name=row["_labels"].get("vm", ""), ts=ts,
                state=row["state"], dynamic=bool(row["dynamic"]), startup_mb=row["startup_mb"],
                minimum_mb=row["minimum_mb"], maximum_mb=row["maximum_mb"],
                buffer=row["buffer"], weight=row["weight"],
                os=guest.get("os") or None, arch=guest.get("arch") or None)
        return sorted(newest.values(), key=lambda r: r.vm_name)


def _finite(value: object) -> float | None:
    """A point's value as a float; None for NaN, +-Inf (no sample hvdyn wrote) or junk."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _error_text(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return str(document.get("error")) if isinstance(document, dict) else None
