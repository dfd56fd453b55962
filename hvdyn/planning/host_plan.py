"""Plan one host: resolve the policy for every VM, plan each, then the host checks.

Pure: the facts come in, the plan goes out. The run stage calls this after
discovery; tests and benchmarks call it with facts they built.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from hvdyn.core.findings import Finding
from hvdyn.core.model import HostFacts, HostPlan, HostSpec, VmFacts, VmPlan
from hvdyn.planning.checks import CAPACITY, HostContext, check_host
from hvdyn.planning.plan import PlanOptions, block_by_findings, plan_vm
from hvdyn.policy.evaluate import Resolution


class PolicyLike(Protocol):
    """What planning needs of a policy (`hvdyn.policy.evaluate.Policy`, or a rollback's)."""

    @property
    def host_reserve_mb(self) -> int: ...

    @property
    def max_overcommit(self) -> float | None: ...

    def resolve(self, vm: VmFacts, host: HostSpec) -> Resolution: ...


def plan_host(
    policy: PolicyLike, facts: HostFacts, spec: HostSpec, options: PlanOptions
) -> tuple[HostPlan, list[Finding]]:
    """The plan of every VM on a host, blocked where a host check refuses it, and the findings."""
    vm_plans: list[VmPlan] = []
    findings: list[Finding] = []
    # The plan options with restarts allowed or not, built once per host, not per VM.
    with_restart = {flag: replace(options, allow_restart=flag) for flag in (False, True)}
    for vm in facts.vms:
        resolution = policy.resolve(vm, spec)
        allow = resolution.may_restart(options.allow_restart)
        vm_plan, vm_findings = plan_vm(
            vm,
            facts,
            resolution.desired,
            with_restart[allow],
            excluded=None if resolution.excluded_by is None else str(resolution.excluded_by),
            policy_error=resolution.error,
            unmanaged=resolution.note,
        )
        vm_plans.append(vm_plan)
        findings.extend(vm_findings)
    host_findings = check_host(
        HostContext(
            host=facts,
            plans=tuple(vm_plans),
            reserve_mb=policy.host_reserve_mb,
            max_overcommit=policy.max_overcommit,
        )
    )
    findings.extend(host_findings)
    blocked = block_by_findings(vm_plans, host_findings, CAPACITY)
    return HostPlan(host=spec.name, facts=facts, vms=blocked), findings
