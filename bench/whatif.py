"""whatif at fleet scale: replay a policy against weeks of stored history.

    python -m bench.whatif [--hosts 200] [--vms 40] [--days 14] [--interval 300]
                           [--db DIR] [--policy examples/lab.yaml]

Builds (or reuses, with --db DIR) a store holding `days` of samples every
`interval` seconds for `hosts` x `vms` running desktops: demand follows a
daily cycle with per-VM noise, assigned memory is what the balancer model
gives (as the simulator would record it). Rows go in with bulk INSERTs into
the store's own tables (schema made by its migrations; the fast way to fill
it: this bench times whatif, not collect, which bench.history measures).
Then `run_whatif` runs in-process for every host exactly as `hvdyn whatif`
does (reading SQLite, two replays, trust check, verdicts, JSON) and prints

    RESULT hosts=... vms=... samples=... whatif_s=... cpu_s=... per_host_ms=...
           peak_rss_mb=... build_s=... db_mb=...
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench._util import machine, peak_rss_mb, result_line
from hvdyn.core.balancer import target_mb
from hvdyn.core.model import HostSpec
from hvdyn.history import open_store, store_path
from hvdyn.history.rows import format_ts
from hvdyn.policy.load import load_policy
from hvdyn.whatif.output import report_json
from hvdyn.whatif.run import run_whatif

REPO = Path(__file__).resolve().parent.parent
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
HOST_MB = 131072
RESERVE_MB = 2048
DESKTOP_OS = "Windows 7 Enterprise"


def _vm_id(host: int, vm: int) -> str:
    return f"{host:08X}-0000-4000-8000-{vm:012X}"


def build(state: Path, hosts: int, vms: int, days: int, interval: int) -> None:
    """Fill a store with synthetic but balancer-consistent history (schema v3 rows)."""
    open_store(state).close()  # creates the schema through the store's migrations
    ticks = days * 86400 // interval
    start = int(EPOCH.timestamp())
    seconds = [start + interval * (t + 1) for t in range(ticks)]
    stamps = [format_ts(EPOCH + timedelta(seconds=interval * (t + 1))) for t in range(ticks)]
    hours = (np.arange(1, ticks + 1) * interval / 3600.0) % 24.0
    daily = 0.5 - 0.5 * np.cos(2.0 * math.pi * (hours - 3.0) / 24.0)
    rng = np.random.default_rng(1)
    conn = sqlite3.connect(store_path(state))
    conn.execute("PRAGMA synchronous=OFF")
    for h in range(hosts):
        host = f"hv-{h:04d}"
        settings, samples = [], []
        assigned_total = np.zeros(ticks, dtype=np.int64)
        for v in range(vms):
            vm_id, name = _vm_id(h, v), f"desk-{v:03d}"
            series = conn.execute("INSERT INTO series (host, vm_id, vm_name) VALUES (?, ?, ?)",
                                  (host, vm_id, name)).lastrowid
            base, peak = float(rng.integers(300, 900)), float(rng.integers(900, 3000))
            startup, maximum, buffer = 512, 4096, 20
            demand = base + (peak - base) * daily + 0.05 * peak * rng.uniform(-1, 1, ticks)
            demand = np.maximum(32, np.round(demand))
            assigned = np.array([target_mb(d, startup, maximum, buffer) for d in demand])
            pressure = np.round(demand * 100 / assigned).astype(np.int64)
            assigned_total += assigned
            settings.append((host, vm_id, name, stamps[0], 2, 1, startup, startup,
                             maximum, buffer, 5000, DESKTOP_OS, "x64"))
            samples += [(series, seconds[t], int(assigned[t]), int(pressure[t]))
                        for t in range(ticks)]
        pool = HOST_MB - RESERVE_MB
        balancer = [(host, "System Balancer", stamps[t], int(pool - assigned_total[t]))
                    for t in range(ticks)]
        with conn:
            conn.executemany(
                "INSERT INTO vm_settings (host, vm_id, vm_name, ts, state, dynamic, startup_mb,"
                " minimum_mb, maximum_mb, buffer, weight, os, arch)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", settings)
            conn.executemany(
                "INSERT INTO samples (series, ts, physical_mb, current_pressure)"
                " VALUES (?, ?, ?, ?)", samples)
            conn.executemany(
                "INSERT INTO balancer_samples (host, name, ts, available_mb) VALUES (?, ?, ?, ?)",
                balancer)
            conn.execute(
                "INSERT INTO host_memory (host, ts, total_mb, free_mb, reserve_mb)"
                " VALUES (?, ?, ?, ?, ?)", (host, stamps[-1], HOST_MB, 0, RESERVE_MB))
    conn.execute("CREATE TABLE IF NOT EXISTS bench_whatif (hosts, vms, days, interval)")
    conn.execute("INSERT INTO bench_whatif VALUES (?, ?, ?, ?)", (hosts, vms, days, interval))
    conn.commit()
    conn.close()


def _built(state: Path, hosts: int, vms: int, days: int, interval: int) -> bool:
    path = store_path(state)
    if not path.exists():
        return False
    with sqlite3.connect(path) as conn:
        try:
            row = conn.execute("SELECT hosts, vms, days, interval FROM bench_whatif").fetchone()
        except sqlite3.Error:
            return False
    return row == (hosts, vms, days, interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--vms", type=int, default=40)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--interval", type=int, default=300)
    parser.add_argument("--db", type=Path, default=None,
                        help="state dir to build in and reuse (default: a temp dir)")
    parser.add_argument("--policy", type=Path, default=REPO / "examples" / "lab.yaml")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = args.db or Path(tmp) / "state"
        build_s = 0.0
        if not _built(state, args.hosts, args.vms, args.days, args.interval):
            started = time.perf_counter()
            build(state, args.hosts, args.vms, args.days, args.interval)
            build_s = time.perf_counter() - started
        db_mb = store_path(state).stat().st_size / 2**20
        policy = load_policy(args.policy)
        hosts = [HostSpec(name=f"hv-{h:04d}", address=f"hv-{h:04d}", transport="mock",
                          groups=("vdi",)) for h in range(args.hosts)]
        wall0, cpu0 = time.perf_counter(), time.process_time()
        report = run_whatif(state, policy, hosts, timedelta(days=args.days), f"{args.days}d",
                            jobs=args.jobs)
        text = report_json(report)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += children.ru_utime + children.ru_stime
    print(f"machine: {machine()}")
    print(f"verdicts: {len(report.hosts)} hosts, {len(text) // 1024} KB of JSON; "
          f"exit {report.exit_code}")
    print(result_line(hosts=args.hosts, vms=args.vms,
                      samples=args.hosts * args.vms * (args.days * 86400 // args.interval),
                      whatif_s=wall, cpu_s=cpu, per_host_ms=wall / max(1, args.hosts) * 1000,
                      peak_rss_mb=max(peak_rss_mb(), children.ru_maxrss / 1024),
                      jobs=args.jobs, build_s=build_s, db_mb=db_mb))


if __name__ == "__main__":
    main()
