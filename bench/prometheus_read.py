"""How long `recommend --prometheus-url` takes to read a long history back.

    python -m bench.prometheus_read [--vms 20] [--days 2] [--scrape 30] [--interval 60]

Writes what a Prometheus scraping `hvdyn exporter` every `--scrape` seconds
would hold for one host of `--vms` VMs over `--days` days (collection every
`--interval` seconds, so each sample is scraped interval/scrape times), as
OpenMetrics, backfills it with `promtool tsdb create-blocks-from openmetrics`,
starts Debian's `prometheus` on that TSDB (127.0.0.1) and times
`PrometheusSource` reading the host's samples, balancer rows and settings,
as `hvdyn recommend --since DAYSd` does. Needs `prometheus` and `promtool`.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from bench._util import machine, peak_rss_mb, result_line
from hvdyn.history import metric_names as m
from hvdyn.history.prometheus_source import PrometheusSource

HOST = "hv-read-01"


def _openmetrics(path: Path, vms: int, days: int, scrape: int, interval: int, end: int) -> int:
    scrapes = days * 86400 // scrape
    start = end - scrapes * scrape
    times = [start + i * scrape for i in range(scrapes)]
    # the host sample time: the newest collection at each scrape
    sampled = [t - (t - start) % interval for t in times]
    lines = 0
    with path.open("w") as out:
        def family(name: str, kind: str, series: list[tuple[str, list[float]]]) -> None:
            nonlocal lines
            out.write(f"# TYPE {name} {kind}\n")
            exposed = f"{name}_total" if kind == "counter" else name
            for labels, values in series:
                for t, v in zip(times, values, strict=True):
                    out.write(f"{exposed}{{{labels}}} {v} {t}\n")
                lines += len(values)

        host = f'host="{HOST}"'
        vm_labels = [f'{host},vm="vm-{i:03d}",vm_id="0A000001-0000-4000-8000-{i:012d}"'
                     for i in range(vms)]
        family(m.SAMPLE_TIMESTAMP, "gauge", [(host, [float(s) for s in sampled])])
        for series in m.VM_SAMPLE_SERIES:
            kind = "counter" if series.counter else "gauge"
            family(series.name, kind, [
                (labels, [float((1024 + (s // interval + i) % 97) * series.scale)
                          for s in sampled])
                for i, labels in enumerate(vm_labels)])
        for series in m.VM_SETTINGS_SERIES:
            family(series.name, "gauge", [(labels, [float(2 * series.scale)] * len(times))
                                          for labels in vm_labels])
        family(m.VM_INFO, "gauge", [(f'{labels},os="Windows Server 2008 R2",arch="x64"',
                                     [1.0] * len(times)) for labels in vm_labels])
        for series in m.BALANCER_SERIES:
            family(series.name, "gauge", [(f'{host},balancer="System Balancer"',
                                           [float(4096 * series.scale)] * len(times))])
        out.write("# EOF\n")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.prometheus_read", description=__doc__)
    parser.add_argument("--vms", type=int, default=20)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--scrape", type=int, default=30)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        raise SystemExit("needs Debian's prometheus package (prometheus, promtool)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        end = int(time.time()) - 3 * 3600 - int(time.time()) % 3600  # a whole head block back
        t0 = time.perf_counter()
        points = _openmetrics(root / "data.om", args.vms, args.days, args.scrape,
                              args.interval, end)
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "-q",
                        str(root / "data.om"), str(root / "tsdb")], check=True)
        (root / "data.om").unlink()
        print(f"backfilled {points} points in {time.perf_counter() - t0:.1f} s")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        (root / "prometheus.yml").write_text("scrape_configs: []\n")
        proc = subprocess.Popen([prometheus, f"--config.file={root / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={root / 'tsdb'}",
                                 "--storage.tsdb.retention.time=3650d",
                                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"])
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url + "/-/ready", timeout=2):
                        break
                except OSError:
                    time.sleep(0.5)
            walls: list[float] = []
            cpus: list[float] = []
            rows = 0
            for _ in range(args.runs):
                w0, c0 = time.perf_counter(), time.process_time()
                source = PrometheusSource(url, lookback=timedelta(days=args.days, hours=4))
                rows = len(source.samples(host=HOST))
                source.balancer_samples(host=HOST)
                source.latest_vm_settings(host=HOST)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
        finally:
            proc.terminate()
            proc.wait(30)
    expected = args.vms * args.days * 86400 // args.interval
    print(f"machine: {machine()}")
    print(f"1 host x {args.vms} VMs x {args.days} days, scrape {args.scrape} s, collection "
          f"{args.interval} s: {rows} sample rows (expected {expected}); read wall min "
          f"{min(walls):.2f} median {statistics.median(walls):.2f} s, cpu min {min(cpus):.2f} "
          f"median {statistics.median(cpus):.2f} s")
    print(result_line(vms=args.vms, days=args.days, scrape_s=args.scrape,
                      interval_s=args.interval, rows=rows, expected_rows=expected,
                      read_wall_s=statistics.median(walls), read_cpu_s=statistics.median(cpus),
                      points=points, peak_rss_mb=peak_rss_mb()))


if __name__ == "__main__":
    main()
