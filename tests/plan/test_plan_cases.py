"""Plan cases as data: host facts + policy in, expected changes out.

Each `cases/*.yaml` holds `policy` (a policy document), `host` (facts),
`vms` (facts), optional `options` (allow_restart), optional `groups`, and
`expect`: per VM name, its `reason` (substring) and its `changes` as
`field: [current, desired, status]`. On a mismatch both sides are printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hvdyn.core.model import (
    GuestInfo,
    Heartbeat,
    HostFacts,
    HostSpec,
    MemorySettings,
    VmFacts,
    VmState,
    parse_size_mb,
)
from hvdyn.planning.host_plan import plan_host
from hvdyn.planning.plan import PlanOptions
from hvdyn.policy.load import load_policy

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def _mb(value: Any) -> int:
    return parse_size_mb(value) if isinstance(value, str) else int(value)


def _vm(index: int, raw: dict[str, Any]) -> VmFacts:
    mem = raw["memory"]
    startup = _mb(mem["startup"])
    dynamic = bool(mem.get("dynamic", True))
    return VmFacts(
        id=raw.get("id", f"00000000-0000-4000-8000-{index:012d}"),
        name=raw["name"],
        state=VmState.from_label(raw.get("state", "running")),
        memory=MemorySettings(
            dynamic=dynamic,
            startup_mb=startup,
            minimum_mb=_mb(mem.get("minimum", startup)),
            maximum_mb=_mb(mem.get("maximum", startup)),
            buffer=int(mem.get("buffer", 20)),
            weight=int(mem.get("weight", 5000)),
        ),
        guest=GuestInfo(
            os_name=raw.get("os", "Windows Server 2008 R2 Enterprise"),
            arch=raw.get("arch", "x64"),
            ic_version=raw.get("ic_version", "6.1.7601.17514"),
            heartbeat=Heartbeat.OK,
        ),
    )


def _plain(value: Any) -> Any:
    return _mb(value) if isinstance(value, str) and value[-2:] in ("MB", "GB") else value


@pytest.mark.parametrize("case_file", CASES, ids=lambda p: p.stem)
def test_plan_case(case_file: Path, tmp_path: Path) -> None:
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(case["policy"], sort_keys=False), encoding="utf-8")
    policy = load_policy(policy_file)
    facts = HostFacts(
        name="hv01",
        total_mb=_mb(case.get("host", {}).get("memory", "64GB")),
        free_mb=_mb(case.get("host", {}).get("free", "32GB")),
        vms=tuple(_vm(i, raw) for i, raw in enumerate(case["vms"])),
    )
    spec = HostSpec(
        name="hv01", address="hv01", transport="mock", groups=tuple(case.get("groups", []))
    )
    plan, _ = plan_host(policy, facts, spec, PlanOptions(**case.get("options", {})))

    got = {
        vm.vm.name: {
            "reason": vm.reason,
            "restart": vm.restart,
            "changes": {c.field: [c.current, c.desired, str(c.status)] for c in vm.changes},
        }
        for vm in plan.vms
    }
    for name, want in case["expect"].items():
        have = got[name]
        want_changes = {
            f: [_plain(v) for v in triple] for f, triple in (want.get("changes") or {}).items()
        }
        assert have["changes"] == want_changes, f"{name}: got {have}"
        assert want.get("reason", "") in have["reason"], f"{name}: got {have}"
        if "restart" in want:
            assert have["restart"] == want["restart"], f"{name}: got {have}"
