"""How many simulated hosts one `hvdyn exporter` collects and serves, at what cost.

    python -m bench.exporter [--hosts 200] [--vms 20] [--forks 10] [--latency 0.2]
                             [--cycles 4]

Writes `--hosts` simulated hosts of `--vms` VMs (bench.fanout's fixtures),
then runs the exporter's collection as `hvdyn exporter` does (every host
through `Collector`, into the store, `--forks` at a time), `--cycles` times;
the first cycle is cold (each simulated host parses its YAML fixture once).
The mock transport sleeps `--latency` s per script (two per host: discover,
collect), as a WAN round trip would. Per warm cycle: wall time, and CPU time
of this process (the simulator runs in-process, so its CPU is counted too:
real hosts do that work themselves). Then the /metrics text is rendered five
times (what one scrape costs). `hosts_per_60s_cpu` = hosts one exporter can
collect every 60 s on one core's worth of CPU; `hosts_per_60s_wall` = hosts
whose round trips fit in 60 s at these forks and latency.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from bench._util import machine, peak_rss_mb, result_line
from bench.fanout import write_lab
from hvdyn.cli.context import load_hosts, transport_factory
from hvdyn.prometheus.exporter import Exporter, Schedule, open_capturing_store
from hvdyn.prometheus.expose import ViewsCollector


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.exporter", description=__doc__)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--vms", type=int, default=20)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--cycles", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_lab(root, args.hosts, args.vms)
        hosts = load_hosts(root / "inventory.yaml", None)
        state = root / "state"
        with open_capturing_store(state) as store:
            exporter = Exporter(hosts, store, transport_factory(state, latency_s=args.latency),
                                Schedule(interval_s=60, forks=args.forks), sim_step_s=60)
            registry = CollectorRegistry()
            registry.register(ViewsCollector(exporter.views))
            walls: list[float] = []
            cpus: list[float] = []
            for cycle in range(args.cycles):
                w0, c0 = time.perf_counter(), time.process_time()
                views = exporter.collect_all()
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                down = [v for v in views if not v.up]
                if down:
                    raise SystemExit(f"{len(down)} hosts failed: {down[0].error}")
                print(f"cycle {cycle}{' (cold)' if cycle == 0 else ''}: wall {wall:.2f} s, "
                      f"cpu {cpu:.2f} s")
                if cycle:
                    walls.append(wall)
                    cpus.append(cpu)
            scrapes: list[float] = []
            size = 0
            for _ in range(5):
                c0 = time.process_time()
                size = len(generate_latest(registry))
                scrapes.append(time.process_time() - c0)
    cpu_med = statistics.median(cpus)
    wall_med = statistics.median(walls)
    series = args.hosts * args.vms
    print(f"machine: {machine()}")
    print(f"{args.hosts} hosts x {args.vms} VMs, forks {args.forks}, latency {args.latency} s: "
          f"warm cycle wall min {min(walls):.2f} median {wall_med:.2f} s, cpu min "
          f"{min(cpus):.2f} median {cpu_med:.2f} s")
    print(f"scrape: {size / 1e6:.1f} MB of text, cpu min {min(scrapes):.3f} median "
          f"{statistics.median(scrapes):.3f} s")
    print(result_line(hosts=args.hosts, vms=args.vms, forks=args.forks, latency=args.latency,
                      cycle_wall_s=wall_med, cycle_cpu_s=cpu_med,
                      cpu_ms_per_host=1000 * cpu_med / args.hosts,
                      hosts_per_60s_cpu=int(60 * args.hosts / cpu_med),
                      hosts_per_60s_wall=int(60 * args.hosts / wall_med),
                      scrape_cpu_s=statistics.median(scrapes), scrape_mb=size / 1e6,
                      vm_count=series, peak_rss_mb=peak_rss_mb()))


if __name__ == "__main__":
    main()
