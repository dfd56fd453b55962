"""Start-up cost of the command line: wall time and modules imported.

    python -m bench.startup [--runs 9]

Runs `hvdyn --help`, `hvdyn validate examples/lab.yaml` and `hvdyn plan
examples/lab.yaml --format json` (the simulated lab) as subprocesses
(`python -m hvdyn`, the interpreter of this venv) `--runs` times each after
one warm-up run, and reports the median and the minimum wall time and the
median CPU time (user + sys of the child). Then
counts the modules each one imports (`sys.modules` at exit, in a child
process) and checks that pywinrm (`winrm`), pypsrp and requests stay out,
and prints the ten slowest imports (`python -X importtime`, cumulative).

Target: `--help` under 0.3 s with no winrm, pypsrp or requests imported.
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

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = ("winrm", "pypsrp", "requests")

# Runs the CLI in-process and prints the imported top-level module names at exit.
_PROBE = """
import atexit, sys
def _report():
    names = sorted(sys.modules)
    sys.__stderr__.write("\\nMODULES " + str(len(names)) + " " + ",".join(names) + "\\n")
atexit.register(_report)
sys.argv = ["hvdyn", *sys.argv[1:]]
from hvdyn.cli.group import main
main()
"""


def _env(state_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env["HVDYN_STATE_DIR"] = state_dir
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float, float, int]:
    """(median wall, min wall, median CPU user+sys, exit code) of `hvdyn ARGV`."""
    cmd = [sys.executable, "-m", "hvdyn", *argv]
    subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, check=False)  # warm-up
    times = []
    cpus = []
    rc = 0
    for _ in range(runs):
        t0, c0 = time.perf_counter(), _child_cpu_s()
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        cpus.append(_child_cpu_s() - c0)
        rc = done.returncode
    return statistics.median(times), min(times), statistics.median(cpus), rc


def _modules(argv: list[str], env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], cwd=REPO, env=env, capture_output=True, text=True
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return line.split(" ", 2)[2].split(",")


def _slowest_imports(argv: list[str], env: dict[str, str], top: int = 10) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hvdyn", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        first, cumulative_us, name = line.split("|", 2)
        self_us = first.split(":", 1)[1]
        rows.append((int(cumulative_us), name.strip(), int(self_us)))
    rows.sort(reverse=True)
    return [f"{c / 1000:7.1f} ms  {name}" for c, name, _ in rows[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="hvdyn-bench-startup-") as state_dir:
        env = _env(state_dir)
        figures = {}
        for key, argv in (
            ("help", ["--help"]),
            ("validate", ["validate", "examples/lab.yaml"]),
            ("plan", ["plan", "examples/lab.yaml", "--format", "json"]),
        ):
            median, best, cpu, rc = _time(argv, args.runs, env)
            modules = _modules(argv, env)
            forbidden = [m for m in FORBIDDEN if m in modules]
            figures[key] = (median, best, len(modules), forbidden, cpu)
            print(
                f"hvdyn {' '.join(argv)}: median {median:.3f} s, min {best:.3f} s, "
                f"cpu median {cpu:.3f} s over {args.runs} runs (exit {rc}); "
                f"{len(modules)} modules; "
                f"winrm/pypsrp/requests imported: {', '.join(forbidden) or 'none'}"
            )
            for row in _slowest_imports(argv, env):
                print(f"    {row}")
        t0 = time.perf_counter()
        for _ in range(args.runs):
            subprocess.run([sys.executable, "-c", "pass"], cwd=REPO, env=env, check=False)
        interpreter = (time.perf_counter() - t0) / args.runs
    print(f"bare interpreter start: {interpreter:.3f} s (mean); target: --help < 0.3 s, "
          "no winrm/pypsrp/requests")
    help_, validate, plan = figures["help"], figures["validate"], figures["plan"]
    print(
        result_line(
            help_s=help_[0],
            help_min_s=help_[1],
            help_cpu_s=help_[4],
            help_modules=help_[2],
            help_forbidden=",".join(help_[3]) or "none",
            validate_s=validate[0],
            validate_min_s=validate[1],
            validate_cpu_s=validate[4],
            validate_modules=validate[2],
            validate_forbidden=",".join(validate[3]) or "none",
            plan_s=plan[0],
            plan_min_s=plan[1],
            plan_cpu_s=plan[4],
            plan_modules=plan[2],
            python_s=interpreter,
        )
    )


if __name__ == "__main__":
    main()
