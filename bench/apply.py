"""`hvdyn apply` on one simulated host with many VMs: is it linear in VMs per host?

    python -m bench.apply [--vms 500,1000,2500,5000] [--runs 1]

For each size, writes one fixture with that many VMs (a quarter off with
startup/maximum drift, the rest running with buffer/weight drift, every
tenth VM already compliant, one template excluded), resets the simulated
host, then runs the command line in-process, as a user would:
`hvdyn apply POLICY --format json` (discover, plan, checks, render, the
simulated apply script, protocol parsing, read-back, journal, report).
Prints wall and CPU seconds per size and per VM; per-VM time that stays flat
as the host grows means apply is linear. A second `hvdyn plan` afterwards
must find nothing left to do (exit 0), so the figures are for a real apply.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench._util import machine, peak_rss_mb, result_line

POLICY = """\
version: 1
inventory: inventory.yaml
defaults: {dynamic: true, startup: 1GB, maximum: 4GB, buffer: 20, weight: 5000}
rules:
  - name: web
    match: {vm: "web-*"}
    set: {buffer: 10, weight: 3000}
exclude:
  - {vm: "template-*"}
"""


def _fixture(vms: int) -> str:
    lines = [
        f"host: {{name: hv-apply, memory: {vms + 64}GB, reserve: 4GB, online_buffer_weight: true}}",
        "seed: 1",
        "vms:",
    ]
    for i in range(vms):
        name = "template-00" if i == 0 else f"{('web', 'app')[i % 2]}-{i:05d}"
        vm_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"hv-apply/{i}")).upper()
        buffer, weight = (10, 3000) if i % 2 else (20, 5000)
        if i % 10 == 5:  # compliant already
            memory = (
                "{dynamic: true, startup: 1GB, maximum: 4GB, "
                f"buffer: {buffer}, weight: {weight}}}"
            )
            state = "running"
        elif i % 4 == 3:  # off, offline drift: written through a modify job
            memory = "{dynamic: true, startup: 2GB, maximum: 8GB, buffer: 25, weight: 4000}"
            state = "off"
        else:  # running, online drift only
            memory = "{dynamic: true, startup: 1GB, maximum: 4GB, buffer: 25, weight: 4000}"
            state = "running"
        lines += [
            f"  - name: {name}",
            f"    id: {vm_id}",
            f"    state: {state}",
            '    os: "Windows Server 2008 R2 Enterprise"',
            f"    memory: {memory}",
            "    demand: {base: 300MB, peak: 700MB}",
        ]
    return "\n".join(lines) + "\n"


def _cli(args: list[str]) -> tuple[int, str]:
    """Run `hvdyn ARGS` in this process; (exit code, stdout)."""
    from hvdyn.cli.group import cli

    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli.main(args=args)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


def _one(root: Path, vms: int) -> dict[str, float]:
    lab = root / f"lab-{vms}"
    lab.mkdir()
    (lab / "hv-apply.yaml").write_text(_fixture(vms), "utf-8")
    (lab / "inventory.yaml").write_text(
        "all:\n  vars:\n    hvdyn_transport: mock\n  hosts:\n"
        "    hv-apply: {hvdyn_mock_fixture: hv-apply.yaml}\n",
        "utf-8",
    )
    policy = lab / "policy.yaml"
    policy.write_text(POLICY, "utf-8")
    os.environ["HVDYN_STATE_DIR"] = str(lab / "state")
    code, _ = _cli(["sim", "reset", "-i", str(lab / "inventory.yaml")])
    if code != 0:
        raise SystemExit(f"sim reset failed ({code})")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    code, out = _cli(["apply", str(policy), "--format", "json"])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if code != 0:
        raise SystemExit(f"apply of {vms} VMs exited {code}:\n{out[-2000:]}")
    again, _ = _cli(["plan", str(policy), "--format", "json"])
    if again != 0:
        raise SystemExit(f"plan after apply of {vms} VMs exited {again}: apply did not converge")
    return {"wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.apply", description=__doc__)
    parser.add_argument("--vms", default="500,1000,2500,5000", help="VMs per host, comma list")
    parser.add_argument("--runs", type=int, default=1, help="runs per size (min and median)")
    args = parser.parse_args()
    sizes = [int(v) for v in args.vms.split(",")]

    print(f"machine: {machine()}")
    figures: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="hvdyn-bench-apply-") as tmp:
        for vms in sizes:
            runs = []
            for run in range(args.runs):
                root = Path(tmp) / f"{vms}-{run}"
                root.mkdir()
                runs.append(_one(root, vms))
            walls = [r["wall"] for r in runs]
            cpus = [r["cpu"] for r in runs]
            figures[vms] = {"wall": min(walls), "cpu": min(cpus)}
            print(
                f"{vms:>6} VMs/host: wall min {min(walls):.2f} s median "
                f"{statistics.median(walls):.2f} s, cpu min {min(cpus):.2f} s median "
                f"{statistics.median(cpus):.2f} s; {min(cpus) / vms * 1e3:.2f} ms cpu/VM"
            )
    first, last = sizes[0], sizes[-1]
    growth = (figures[last]["cpu"] / last) / (figures[first]["cpu"] / first)
    print(f"cpu per VM at {last} / at {first}: {growth:.2f} (1.0 = linear)")
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    print(
        result_line(
            **{f"cpu_s_{v}": figures[v]["cpu"] for v in sizes},
            **{f"wall_s_{v}": figures[v]["wall"] for v in sizes},
            per_vm_growth=growth,
        )
    )


if __name__ == "__main__":
    main()
