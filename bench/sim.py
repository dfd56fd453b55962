"""The simulator's own cost: a week of 5-minute counter samples from the lab.

    python -m bench.sim [--samples 2016] [--interval 300] [--runs 3]

First the simulated `collect` script alone, on each bundled lab host
(`inventories/lab/*.yaml`, state fresh from the fixture), as the mock
transport runs it: CPU seconds per host. Then the whole command a user runs,
`hvdyn collect -i inventories/lab.yaml --samples N --interval S` in a child
process with a fresh state dir: wall and CPU (user + sys of the child), which
also includes parsing the record stream and writing the store. Minimum and
median over `--runs` (`--command-runs` for the command, default 1: the store's
writes make it slow on a busy disk).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._util import machine, result_line
from hvdyn.sim import load_fixture, run_script

REPO = Path(__file__).resolve().parent.parent


def _script_cpu(fixture: Path, samples: int, interval: int) -> tuple[float, int]:
    host = load_fixture(fixture)
    t0 = time.process_time()
    records = run_script(host, "collect", {"host": host.name, "samples": samples,
                                           "interval_s": interval})
    return time.process_time() - t0, len(records)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(samples: int, interval: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(prefix="hvdyn-bench-sim-") as state_dir:
        env = {**os.environ, "HVDYN_STATE_DIR": state_dir}
        cmd = [sys.executable, "-m", "hvdyn", "collect", "-i", "inventories/lab.yaml",
               "--samples", str(samples), "--interval", str(interval), "--format", "json"]
        t0, c0 = time.perf_counter(), _children_cpu()
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, check=False)
        return time.perf_counter() - t0, _children_cpu() - c0, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sim", description=__doc__)
    parser.add_argument("--samples", type=int, default=2016)
    parser.add_argument("--interval", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--command-runs", type=int, default=1,
                        help="runs of the whole hvdyn collect command (0 to skip)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    total = 0.0
    for fixture in sorted((REPO / "inventories" / "lab").glob("*.yaml")):
        runs = [_script_cpu(fixture, args.samples, args.interval) for _ in range(args.runs)]
        cpus = [cpu for cpu, _ in runs]
        total += min(cpus)
        print(f"collect script, {fixture.stem}: {args.samples} samples, {runs[0][1]} records, "
              f"cpu min {min(cpus):.2f} s median {statistics.median(cpus):.2f} s")
    walls, cpus = [], []
    for _ in range(args.command_runs):
        wall, cpu, rc = _command(args.samples, args.interval)
        if rc != 0:
            raise SystemExit(f"hvdyn collect exited {rc}")
        walls.append(wall)
        cpus.append(cpu)
    if not walls:
        print(result_line(samples=args.samples, script_cpu_s=total))
        return
    print(f"hvdyn collect (3 lab hosts, {args.samples} samples each): wall min {min(walls):.2f} s "
          f"median {statistics.median(walls):.2f} s, cpu min {min(cpus):.2f} s median "
          f"{statistics.median(cpus):.2f} s")
    print(result_line(samples=args.samples, script_cpu_s=total, command_wall_s=min(walls),
                      command_wall_median_s=statistics.median(walls), command_cpu_s=min(cpus),
                      command_cpu_median_s=statistics.median(cpus)))


if __name__ == "__main__":
    main()
