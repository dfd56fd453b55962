"""A fleet's history at scale: store size, collect round, recommend, report, export, audit.

    python -m bench.history [--hosts 200] [--vms 40] [--interval 300] [--days 90]
                            [--raw-days 14] [--state DIR] [--export-hosts 20]

Builds the store a fleet would have after `--days` of `hvdyn collect` every
`--interval` seconds with the default retention (raw samples `--raw-days`,
hourly rollups 90 days, daily 2 years), then times what commands do with it.

How the store is filled (the fastest honest way through the store's code):
- the last `--raw-days` days: every sample, generated per host and day and
  stored with `Store.add_collection` (collect's write path: compact rows,
  settings on change, hourly/daily roll-up from the stored raw samples);
- older days, whose raw samples retention would have deleted: only their
  hourly and daily rollup rows, computed with the same `stats_of` /
  `merge_stats` functions collect uses, from a generated week of samples per
  VM (day d reuses weekday d % 7's samples) and bulk-inserted.
Then, timed:
- collect_round_s: the store side of one round for all hosts (40 samples, a
  balancer and a host row, unchanged settings per host, its roll-up), then
  `apply_retention`; rounds are repeated and the one that closes an hour
  and the one that closes a day are reported too;
- recommend_all_s: `gather_advice` (what `hvdyn recommend` does) for all
  hosts over its default 14 days;
- report_host_s: one host's report page (default 7 days) rendered to HTML;
- export_peak_rss_mb: `hvdyn export samples` of `--export-hosts` hosts to
  /dev/null in a child process (its peak RSS and rows/s);
- audit_health_s: the health part of `hvdyn audit` (default 24 h window) for
  all hosts, as `host_audit` does it (the plan part contacts hosts: not here).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._util import machine, peak_rss_mb, result_line
from hvdyn.analysis.audit import balancer_findings, pressure_findings, rollup_health, vm_health
from hvdyn.cli.commands.recommend import gather_advice
from hvdyn.formats.chart_data import host_history
from hvdyn.formats.report_page import report_html
from hvdyn.history import Retention, Store, open_store, window_start
from hvdyn.history.resolution import RAW, resolution_for
from hvdyn.history.rollups import _INSERT, DAY, HOUR, STAT_COLUMNS, merge_stats, stats_of
from hvdyn.history.rows import (
    BalancerRow,
    HostMemoryRow,
    RollupRow,
    SampleRow,
    VmSettingsRow,
    format_ts,
)

END = datetime(2026, 6, 1, tzinfo=UTC)


def vm_guid(host: int, k: int) -> str:
    return f"{host:08X}-0000-4000-8000-{k:012X}"


def level(k: int, step: int, interval: int, rng: random.Random) -> tuple[int, int, int]:
    """(average pressure, current pressure, assigned MB) of VM k at a sampling step."""
    hour = (step * interval / 3600) % 24
    busy = max(0.0, math.sin((hour - 7) / 12 * math.pi))
    base = 768 + 256 * (k % 16)
    demand = base * (0.6 + 0.5 * busy) * (1 + rng.gauss(0, 0.04))
    assigned = max(512, int(demand / 0.8))
    pressure = max(1, round(demand / assigned * 100 + rng.gauss(0, 3)))
    return pressure, pressure + rng.randint(-2, 2), assigned


def day_samples(h: int, vms: int, day: datetime, interval: int, rng: random.Random
                ) -> tuple[list[SampleRow], list[BalancerRow]]:
    host = f"hv{h:03d}"
    steps = 86400 // interval
    samples: list[SampleRow] = []
    balancer: list[BalancerRow] = []
    for i in range(steps):
        ts = format_ts(day + timedelta(seconds=i * interval))
        for k in range(vms):
            ap, cp, mb = level(k, i, interval, rng)
            samples.append(SampleRow(host=host, vm_id=vm_guid(h, k), vm_name=f"vm{k:02d}",
                                     ts=ts, physical_mb=mb, guest_visible_mb=mb + 512,
                                     current_pressure=cp, average_pressure=ap,
                                     minimum_pressure=max(0, ap - 10),
                                     maximum_pressure=ap + 10, added_mb=i, removed_mb=i // 2,
                                     add_ops=i, remove_ops=i // 2))
        balancer.append(BalancerRow(host=host, name="Hyper-V Dynamic Memory Balancer", ts=ts,
                                    available_mb=4000 + rng.randint(-500, 500),
                                    average_pressure=80))
    return samples, balancer


def settings_rows(h: int, vms: int, ts: str) -> list[VmSettingsRow]:
    return [VmSettingsRow(host=f"hv{h:03d}", vm_id=vm_guid(h, k), vm_name=f"vm{k:02d}", ts=ts,
                          state=2, dynamic=True, startup_mb=1024, minimum_mb=512,
                          maximum_mb=8192, buffer=20, weight=5000, os="Windows Server 2008 R2",
                          arch="x64") for k in range(vms)]


def week_of_rollups(vms: int, interval: int) -> list[list[tuple[list[tuple], tuple]]]:  # type: ignore[type-arg]
    """[weekday][vm] -> (24 hourly stat tuples, daily stat tuple), from generated samples."""
    rng = random.Random(11)
    out = []
    steps = 86400 // interval
    per_hour = max(1, 3600 // interval)
    for _ in range(7):
        per_vm = []
        for k in range(vms):
            raw = []
            for i in range(steps):
                ap, cp, mb = level(k, i, interval, rng)
                raw.append((i * interval, ap, cp, mb))
            hours = [stats_of(raw[j:j + per_hour]) for j in range(0, steps, per_hour)]
            rows = [RollupRow(host="", vm_id="", vm_name="", res=HOUR, bucket="",
                              **s) for s in hours]  # type: ignore[arg-type]
            day = merge_stats(rows)
            per_vm.append(([tuple(s[c] for c in STAT_COLUMNS) for s in hours],
                           tuple(day[c] for c in STAT_COLUMNS)))
        out.append(per_vm)
    return out


def fill(store: Store, args: argparse.Namespace, log: list[str]) -> int:
    start = END - timedelta(days=args.days)
    raw_from = END - timedelta(days=args.raw_days)
    rng = random.Random(5)
    t0 = time.perf_counter()
    # one first round per host, 90 days back: creates the series (and is aged out later)
    for h in range(args.hosts):
        ts = format_ts(start)
        samples = [SampleRow(host=f"hv{h:03d}", vm_id=vm_guid(h, k), vm_name=f"vm{k:02d}",
                             ts=ts, physical_mb=1024, current_pressure=80, average_pressure=80)
                   for k in range(args.vms)]
        store.add_collection(samples=samples, balancer=[], host_memory=[],
                             vm_settings=settings_rows(h, args.vms, ts), roll_up=False)
    week = week_of_rollups(args.vms, args.interval)
    old_days = (raw_from - start).days
    conn = store._conn
    series = {(h, v): int(i) for h, v, i in conn.execute(
        "SELECT host, vm_id, id FROM series")}
    for h in range(args.hosts):
        host = f"hv{h:03d}"
        rows = []
        brows = []
        for d in range(old_days):
            day = int((start + timedelta(days=d)).timestamp())
            for k in range(args.vms):
                hours, daily = week[d % 7][k]
                sid = series[(host, vm_guid(h, k))]
                rows += [(sid, HOUR, day + j * HOUR, *stat) for j, stat in enumerate(hours)]
                rows.append((sid, DAY, day, *daily))
            brows += [(host, HOUR, day + j * HOUR, 3600 // args.interval, 3500, 4000, 4500, 80)
                      for j in range(24)]
            brows.append((host, DAY, day, 86400 // args.interval, 3500, 4000, 4500, 80))
        with store._tx() as tx:
            tx.executemany(_INSERT, rows)
            tx.executemany("INSERT INTO balancer_rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?)", brows)
            for res in (HOUR, DAY):
                tx.execute("INSERT OR REPLACE INTO rollup_marks VALUES (?, ?, ?)",
                           (host, res, int(raw_from.timestamp())))
    log.append(f"old {old_days} days as rollups: {time.perf_counter() - t0:.0f} s")
    t1 = time.perf_counter()
    raw = 0
    for d in range(args.raw_days):
        day = raw_from + timedelta(days=d)
        for h in range(args.hosts):
            samples, balancer = day_samples(h, args.vms, day, args.interval, rng)
            memory = [HostMemoryRow(host=f"hv{h:03d}", ts=balancer[-1].ts, total_mb=262144,
                                    free_mb=20000, reserve_mb=4096)]
            store.add_collection(samples=samples, balancer=balancer, host_memory=memory,
                                 vm_settings=settings_rows(h, args.vms, samples[0].ts))
            raw += len(samples)
        log.append(f"raw day {d + 1}/{args.raw_days}: {raw} samples, "
                   f"{time.perf_counter() - t1:.0f} s")
        print(log[-1], flush=True)
    store.apply_retention(Retention(raw=timedelta(days=args.raw_days)))
    return raw


def collect_round(store: Store, args: argparse.Namespace, at: datetime, rng: random.Random
                  ) -> float:
    t0 = time.perf_counter()
    ts = format_ts(at)
    step = int(at.timestamp()) // args.interval
    for h in range(args.hosts):
        host = f"hv{h:03d}"
        samples = []
        for k in range(args.vms):
            ap, cp, mb = level(k, step, args.interval, rng)
            samples.append(SampleRow(host=host, vm_id=vm_guid(h, k), vm_name=f"vm{k:02d}", ts=ts,
                                     physical_mb=mb, guest_visible_mb=mb + 512,
                                     current_pressure=cp, average_pressure=ap))
        store.add_collection(
            samples=samples,
            balancer=[BalancerRow(host=host, name="Hyper-V Dynamic Memory Balancer", ts=ts,
                                  available_mb=4000, average_pressure=80)],
            host_memory=[HostMemoryRow(host=host, ts=ts, total_mb=262144, free_mb=20000)],
            vm_settings=settings_rows(h, args.vms, ts))
    store.apply_retention(Retention(raw=timedelta(days=args.raw_days)))
    return time.perf_counter() - t0


def audit_health(store: Store, hosts: list[str]) -> None:
    since = timedelta(hours=24)
    for host in hosts:
        start = window_start(store, host, since)
        if resolution_for(store, host, since) == RAW:
            samples = store.brief_samples(host=host, since=start)
            pressure_findings(host, samples, {})
            balancer_findings(host, store.balancer_samples(host=host, since=start))
            vm_health(samples)
        else:
            rollup_health(host, store.rollups(host, HOUR, since=start),
                          store.balancer_rollups(host, HOUR, start), {})


def timed(work: object) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    work()  # type: ignore[operator]
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--vms", type=int, default=40)
    parser.add_argument("--interval", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--raw-days", type=int, default=14)
    parser.add_argument("--rounds", type=int, default=13)
    parser.add_argument("--export-hosts", type=int, default=20)
    parser.add_argument("--state", type=Path, default=None,
                        help="Keep the store here; reuse it if it is already filled.")
    args = parser.parse_args()
    state = args.state or Path(tempfile.mkdtemp(prefix="hvdyn-bench-history-"))
    log: list[str] = []
    print(f"machine: {machine()}; fleet {args.hosts} hosts x {args.vms} VMs, every "
          f"{args.interval} s, {args.days} days (raw {args.raw_days}); state {state}", flush=True)
    with open_store(state) as store:
        raw = int(store.scalar("SELECT count(*) FROM samples") or 0)
        if raw == 0:
            t0 = time.perf_counter()
            raw = fill(store, args, log)
            log.append(f"fill: {time.perf_counter() - t0:.0f} s")
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = (state / "hvdyn.sqlite3").stat().st_size
        tables = dict(store._conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        raw_rows = int(store.scalar("SELECT count(*) FROM samples"))
        rollup_rows = int(store.scalar("SELECT count(*) FROM rollups"))
        per_sample = tables.get("samples", 0) / max(1, raw_rows)
        print(f"database {size / 2**20:.0f} MB: samples {tables.get('samples', 0) / 2**20:.0f} "
              f"MB for {raw_rows} raw samples ({per_sample:.1f} B each), rollups "
              f"{tables.get('rollups', 0) / 2**20:.0f} MB for {rollup_rows} rows "
              f"({tables.get('rollups', 0) / max(1, rollup_rows):.1f} B each)", flush=True)
        hosts = store.sample_hosts()
        newest = datetime.fromisoformat((store.newest_ts(hosts[0]) or "").replace("Z", "+00:00"))
        rng = random.Random(9)
        rounds = []
        for r in range(1, args.rounds + 1):
            at = newest + timedelta(seconds=r * args.interval)
            rounds.append((at, collect_round(store, args, at, rng)))
            print(f"collect round {at:%H:%M}: {rounds[-1][1]:.2f} s", flush=True)
        plain = [s for at, s in rounds if at.minute != 0]
        hourly = [s for at, s in rounds if at.minute == 0]
        recommend = timed(lambda: gather_advice(store, hosts, timedelta(days=14), 0.2))
        print(f"recommend all {len(hosts)} hosts (14d): {recommend[0]:.1f} s wall, "
              f"{recommend[1]:.1f} s CPU", flush=True)
        report_times = []
        page_bytes = 0
        for host in hosts[:5]:
            def one(h: str = host) -> None:
                nonlocal page_bytes
                page_bytes = len(report_html([host_history(store, h, timedelta(days=7))],
                                             "report", ""))
            report_times.append(timed(one))
        report_90 = timed(lambda: report_html(
            [host_history(store, hosts[0], timedelta(days=90))], "r", ""))
        print(f"report one host (7d): {statistics.median(t for t, _ in report_times):.2f} s "
              f"median, {page_bytes / 1024:.0f} KB page; 90d: {report_90[0]:.2f} s", flush=True)
        audit = timed(lambda: audit_health(store, hosts))
        print(f"audit health all hosts (24h): {audit[0]:.1f} s wall, {audit[1]:.1f} s CPU",
              flush=True)
    export_hosts = hosts[:args.export_hosts]
    t0 = time.perf_counter()
    rows = 0
    peak = 0.0
    # A small launcher runs each export: a child forked from this (large) process would
    # count this process's pages in its peak RSS until it execs.
    launcher = ("import resource, subprocess, sys\n"
                "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True)\n"
                "print(done.stdout.count(b'\\n') - 1,"
                " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    for host in export_hosts:
        child = subprocess.run(
            [sys.executable, "-c", launcher, sys.executable, "-m", "hvdyn", "export", "samples",
             "--host", host, "--state-dir", str(state)],
            stdout=subprocess.PIPE, check=True, text=True)
        count, kb = child.stdout.split()
        rows += int(count)
        peak = max(peak, int(kb) / 1024)
    export_s = time.perf_counter() - t0
    print(f"export: {rows} rows of {len(export_hosts)} hosts in {export_s:.0f} s "
          f"({rows / max(export_s, 1e-9):.0f} rows/s); peak RSS {peak:.0f} MB", flush=True)
    for line in log:
        print(line)
    print(f"bench process peak RSS {peak_rss_mb():.0f} MB; raw samples stored in fill: {raw}")
    print(result_line(
        db_mb=round(size / 2**20), bytes_per_sample=round(per_sample, 1),
        collect_round_s=round(statistics.median(plain), 2),
        collect_round_min_s=round(min(plain), 2),
        collect_round_hour_s=round(max(hourly), 2) if hourly else "-",
        recommend_all_s=round(recommend[0], 1), report_host_s=round(
            statistics.median(t for t, _ in report_times), 2),
        export_peak_rss_mb=round(peak), audit_health_s=round(audit[0], 1),
        hosts=args.hosts, vms=args.vms, days=args.days))
    if not args.state:
        os.environ.get("HVDYN_BENCH_KEEP") or [p.unlink() for p in state.iterdir()]


if __name__ == "__main__":
    main()
