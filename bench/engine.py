"""Policy evaluation + plan + render at fleet scale, no transport.

    python -m bench.engine [--hosts 1000] [--vms 40] [--policy examples/lab.yaml]
                           [--extra-rules N] [--no-restart]

Host facts are generated in memory (`bench.fleet`), then for every host:
`plan_host(policy, facts, spec, options)` (policy `resolve` + `plan_vm` + checks per
VM) and `render_script("apply", apply_params(plan, ApplyOptions()))` for the
hosts with work, keeping every plan and script, as a run does until it
reports. `wall_s` is that pipeline (plan + render); generating the facts and
loading the policy are reported separately. Policy evaluation alone is timed
in a separate pass over the same VMs (`resolve_us_per_vm`).

`--extra-rules N` appends N non-matching-by-name rules to the policy (a
generated copy in a temp dir) to show how evaluation scales with rule count.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

from bench._util import machine, peak_rss_mb, result_line
from bench.fleet import converge_some, host_facts, host_spec
from hvdyn.planning.host_plan import plan_host
from hvdyn.planning.plan import PlanOptions
from hvdyn.policy.load import load_policy
from hvdyn.powershell.params import ApplyOptions, apply_params
from hvdyn.powershell.templates import render_script

REPO = Path(__file__).resolve().parent.parent


def _policy_with_extra_rules(base: Path, extra: int, tmp: Path) -> Path:
    text = base.read_text("utf-8")
    # `inventory:` is relative to the policy file; the benchmark never reads it.
    lines = [line for line in text.splitlines() if not line.startswith("inventory:")]
    rules_at = next(i for i, line in enumerate(lines) if line.startswith("rules:"))
    generated = []
    for i in range(extra):
        generated += [
            f"  - name: app-tier-{i:03d}",
            f'    match: {{vm: ["app-{i:03d}-*", "web-{i:03d}-*"], group: servers}}',
            f"    set: {{buffer: {10 + i % 30}, weight: {1000 + i}}}",
        ]
    lines[rules_at + 1 : rules_at + 1] = generated
    out = tmp / "policy.yaml"
    out.write_text("\n".join(lines) + "\n", "utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--vms", type=int, default=40, help="VMs per host")
    parser.add_argument("--policy", type=Path, default=REPO / "examples" / "lab.yaml")
    parser.add_argument("--extra-rules", type=int, default=0)
    parser.add_argument(
        "--no-restart",
        action="store_true",
        help="plan without --allow-restart (fewer VMs get work, smaller scripts)",
    )
    parser.add_argument(
        "--compliant",
        type=float,
        default=0.5,
        help="fraction of VMs generated already at the policy's values (default 0.5)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hvdyn-bench-") as tmp:
        policy_path = args.policy
        if args.extra_rules:
            policy_path = _policy_with_extra_rules(args.policy, args.extra_rules, Path(tmp))
        t0 = time.perf_counter()
        policy = load_policy(policy_path)
        load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    fleet = [
        (converge_some(policy, host_facts(i, args.vms), host_spec(i), args.compliant), host_spec(i))
        for i in range(args.hosts)
    ]
    gen_s = time.perf_counter() - t0
    n_vms = sum(len(f.vms) for f, _ in fleet)

    plan_options = PlanOptions(allow_restart=not args.no_restart)
    apply_options = ApplyOptions()

    # Policy evaluation alone, over every VM.
    gc.collect()
    t0 = time.perf_counter()
    for facts, spec in fleet:
        for vm in facts.vms:
            policy.resolve(vm, spec)
    resolve_s = time.perf_counter() - t0

    # The pipeline: plan every host, render the apply script of hosts with work.
    gc.collect()
    plan_s = render_s = 0.0
    kept = []
    rendered_vms = script_bytes = scripts = 0
    gc_s = [0.0]
    gc_started = [0.0]

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.process_time()
        else:
            gc_s[0] += time.process_time() - gc_started[0]

    gc.callbacks.append(gc_timer)
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for facts, spec in fleet:
        t0 = time.perf_counter()
        plan, findings = plan_host(policy, facts, spec, plan_options)
        t1 = time.perf_counter()
        plan_s += t1 - t0
        params = apply_params(plan, apply_options)
        script = None
        if params["vms"]:
            script = render_script("apply", params)
            scripts += 1
            rendered_vms += len(params["vms"])
            script_bytes += len(script.text.encode("utf-8"))
        render_s += time.perf_counter() - t1
        kept.append((plan, findings, script))
    wall_s = time.perf_counter() - wall0
    cpu_s = time.process_time() - cpu0
    gc.callbacks.remove(gc_timer)
    rss = peak_rss_mb()

    print(f"machine: {machine()}")
    print(f"policy: {policy_path.name} ({len(policy.rules)} rules, loaded in {load_s:.3f} s)")
    print(f"fleet: {args.hosts} hosts x {args.vms} VMs = {n_vms} VMs (generated in {gen_s:.2f} s)")
    print(f"policy evaluation alone: {resolve_s:.3f} s, {resolve_s / n_vms * 1e6:.1f} us/VM")
    print(f"plan (resolve + plan_vm + checks): {plan_s:.3f} s, {plan_s / n_vms * 1e6:.1f} us/VM")
    print(
        f"render: {render_s:.3f} s for {scripts} apply scripts ({rendered_vms} VMs with work), "
        f"{render_s / max(scripts, 1) * 1e3:.2f} ms/host, "
        f"{script_bytes / max(scripts, 1) / 1024:.1f} KB/script"
    )
    print(f"pipeline wall: {wall_s:.3f} s; peak RSS {rss:.0f} MB (target < 5 s, < 400 MB)")
    print(
        f"pipeline cpu (user+sys): {cpu_s:.3f} s, {cpu_s / n_vms * 1e6:.1f} us/VM, of which "
        f"the garbage collector {gc_s[0]:.3f} s"
    )
    print(
        result_line(
            wall_s=wall_s,
            cpu_s=cpu_s,
            cpu_us_per_vm=round(cpu_s / n_vms * 1e6, 1),
            gc_s=gc_s[0],
            peak_rss_mb=round(rss),
            hosts=args.hosts,
            vms=n_vms,
            resolve_us_per_vm=round(resolve_s / n_vms * 1e6, 1),
            plan_us_per_vm=round(plan_s / n_vms * 1e6, 1),
            render_ms_per_host=round(render_s / max(scripts, 1) * 1e3, 2),
            scripts=scripts,
            script_kb=round(script_bytes / max(scripts, 1) / 1024, 1),
        )
    )


if __name__ == "__main__":
    main()
