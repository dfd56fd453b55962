"""Audit (plan) and apply across many simulated hosts with injected per-script latency.

    python -m bench.fanout [--hosts 500] [--forks 50] [--latency 0.2] [--vms 4]

Writes `--hosts` small fixtures and an inventory (`hvdyn_transport: mock`)
into a temp dir, then runs the engine as `hvdyn plan` / `hvdyn apply` do
(`Engine(policy, transport_factory(state_dir, latency_s=...), RunOptions(...))`),
with the mock transport sleeping `--latency` seconds per script, as a WAN
round trip would. Every host drifts on buffer/weight only (online changes),
so an audit sends one script per host and an apply two (discover + apply).

ideal = scripts per host x latency x hosts / forks; ratio = wall / ideal.
The wall time is `Engine.run` only; loading the policy and the inventory is
reported separately. Three runs in one state dir: a cold audit (each
simulated host parses its YAML fixture on first contact, a simulator cost
real hosts do not have: `audit_cold_ratio`), an audit (after `hvdyn sim
reset`, hosts load their saved state: `audit_ratio`), then the apply. CPU
seconds of the process (all threads) are printed next to each wall time.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from bench._util import machine, peak_rss_mb, result_line
from hvdyn.cli.context import load_targets, transport_factory
from hvdyn.core.model import HostSpec, HostStatus, Script, ScriptResult
from hvdyn.run.engine import Engine, RunOptions
from hvdyn.sim import reset
from hvdyn.transport import Transport

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


def _fixture(host: str, index: int, vms: int) -> str:
    lines = [
        f"host: {{name: {host}, memory: 64GB, reserve: 2GB, online_buffer_weight: true}}",
        f"seed: {index}",
        "vms:",
    ]
    for i in range(vms):
        name = "template-01" if i == vms - 1 and vms > 2 else f"{('web', 'app')[i % 2]}-{i:02d}"
        vm_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{host}/{i}")).upper()
        # Right sizes, old buffer/weight: online drift only.
        lines += [
            f"  - name: {name}",
            f"    id: {vm_id}",
            "    state: running",
            '    os: "Windows Server 2008 R2 Enterprise"',
            "    memory: {dynamic: true, startup: 1GB, maximum: 4GB, buffer: 25, weight: 4000}",
            "    demand: {base: 600MB, peak: 1500MB}",
        ]
    return "\n".join(lines) + "\n"


def write_lab(root: Path, hosts: int, vms: int) -> Path:
    """Fixtures + inventory + policy under `root`; returns the policy path."""
    (root / "fixtures").mkdir()
    inv = ["all:", "  vars:", "    hvdyn_transport: mock", "  hosts:"]
    for i in range(hosts):
        name = f"hv-bench-{i:04d}"
        (root / "fixtures" / f"{name}.yaml").write_text(_fixture(name, i, vms), "utf-8")
        inv.append(f"    {name}: {{hvdyn_mock_fixture: fixtures/{name}.yaml}}")
    (root / "inventory.yaml").write_text("\n".join(inv) + "\n", "utf-8")
    policy = root / "policy.yaml"
    policy.write_text(POLICY, "utf-8")
    return policy


class _Counting:
    """Wraps a transport to count the scripts it runs, by name."""

    def __init__(self, inner: Transport, counts: Counter[str], lock: threading.Lock) -> None:
        self._inner, self._counts, self._lock = inner, counts, lock

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        result = self._inner.run(script, timeout_s=timeout_s)
        with self._lock:
            self._counts[script.name] += 1
        return result

    def close(self) -> None:
        self._inner.close()


def _run(mode: str, policy: Path, state_dir: Path, args: argparse.Namespace) -> dict[str, float]:
    t0 = time.perf_counter()
    targets = load_targets(policy, None, None)
    load_s = time.perf_counter() - t0
    build = transport_factory(state_dir, latency_s=args.latency)
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def factory(spec: HostSpec) -> Transport:
        return _Counting(build(spec), counts, lock)

    options = RunOptions(mode="apply" if mode == "apply" else "plan", forks=args.forks)

    engine = Engine(targets.policy, factory, options)
    t0, c0 = time.perf_counter(), time.process_time()
    results = engine.run(targets.hosts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    statuses = Counter(r.status for r in results)
    bad = [r for r in results if r.status in (HostStatus.FAILED, HostStatus.UNREACHABLE)]
    if bad:
        raise SystemExit(f"{mode}: {len(bad)} hosts failed, first: {bad[0].host}: {bad[0].error}")
    scripts = sum(counts.values())
    per_host = scripts / len(targets.hosts)
    ideal = per_host * args.latency * len(targets.hosts) / args.forks
    print(
        f"{mode}: {len(targets.hosts)} hosts, {scripts} scripts ({dict(counts)}), "
        f"statuses {dict((str(k), v) for k, v in statuses.items())}"
    )
    print(
        f"{mode}: wall {wall:.2f} s, ideal {ideal:.2f} s "
        f"({per_host:g} scripts/host x {args.latency:g} s x {len(targets.hosts)} / {args.forks}),"
        f" ratio {wall / ideal:.3f}; cpu {cpu:.2f} s ({cpu / len(targets.hosts) * 1e3:.2f} ms"
        f"/host); loading policy + inventory {load_s:.2f} s"
    )
    return {"wall": wall, "ideal": ideal, "ratio": wall / ideal, "per_host": per_host,
            "load": load_s, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per script")
    parser.add_argument("--vms", type=int, default=4, help="VMs per simulated host")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="hvdyn-bench-fanout-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        policy = write_lab(root, args.hosts, args.vms)
        print(f"wrote {args.hosts} fixtures + inventory in {time.perf_counter() - t0:.2f} s")
        state_dir = root / "state"
        # First contact: each simulated host parses its YAML fixture inside the worker.
        cold = _run("audit (cold simulator)", policy, state_dir, args)
        # A read-only audit saves no state; `hvdyn sim reset` writes every host's, and
        # simulated hosts then load their saved JSON state.
        reset(state_dir, load_targets(policy, None, None).hosts)
        audit = _run("audit", policy, state_dir, args)
        apply = _run("apply", policy, state_dir, args)
    print(f"peak RSS {peak_rss_mb():.0f} MB; target: ratio < 1.25")
    print(
        result_line(
            hosts=args.hosts,
            forks=args.forks,
            latency_s=args.latency,
            audit_wall_s=audit["wall"],
            audit_ideal_s=audit["ideal"],
            audit_ratio=audit["ratio"],
            audit_scripts_per_host=audit["per_host"],
            audit_cold_ratio=cold["ratio"],
            audit_cold_cpu_s=cold["cpu"],
            audit_cpu_s=audit["cpu"],
            apply_cpu_s=apply["cpu"],
            apply_wall_s=apply["wall"],
            apply_ideal_s=apply["ideal"],
            apply_ratio=apply["ratio"],
            apply_scripts_per_host=apply["per_host"],
        )
    )


if __name__ == "__main__":
    main()
