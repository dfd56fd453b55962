"""bench.engine at growing fleet sizes: is the time per VM flat from 10k to 200k VMs?

    python -m bench.engine_curve [--runs 3] [--sizes 250x40,500x40,...]

Runs `python -m bench.engine --hosts H --vms V` in a fresh process per size
and run (so each peak RSS is its own), and prints per size the minimum and
median of the pipeline's wall and CPU (user + sys) seconds, CPU per VM, the
garbage collector's share and the peak RSS. CPU per VM is the figure to read
on a shared machine: wall time there depends on what else runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench._util import machine

REPO = Path(__file__).resolve().parent.parent
SIZES = "250x40,500x40,1000x40,2500x40,5000x40,1000x200"


def _result(hosts: int, vms: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.engine", "--hosts", str(hosts), "--vms", str(vms)],
        cwd=REPO, capture_output=True, text=True, check=True, env=dict(os.environ),
    )
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("RESULT "))
    pairs = (item.split("=", 1) for item in line.split()[1:])
    return {key: float(value) for key, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_curve", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default=SIZES, help="HOSTSxVMS_PER_HOST, comma list")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print("| hosts x VMs | VMs | wall s min / median | cpu s min / median | cpu us/VM (min) "
          "| of which GC s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        hosts, vms = (int(x) for x in size.split("x"))
        runs = [_result(hosts, vms) for _ in range(args.runs)]
        walls = [r["wall_s"] for r in runs]
        cpus = [r["cpu_s"] for r in runs]
        best = min(runs, key=lambda r: r["cpu_s"])
        print(
            f"| {hosts} x {vms} | {int(best['vms'])} | {min(walls):.2f} / "
            f"{statistics.median(walls):.2f} | {min(cpus):.2f} / {statistics.median(cpus):.2f} "
            f"| {best['cpu_us_per_vm']:.1f} | {best['gc_s']:.2f} | "
            f"{max(r['peak_rss_mb'] for r in runs):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
