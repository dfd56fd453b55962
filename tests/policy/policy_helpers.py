"""Small builders for policy evaluation tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hvdyn.core.model import GuestInfo, HostSpec, MemorySettings, VmFacts, VmState
from hvdyn.policy.evaluate import Policy
from hvdyn.policy.load import load_policy


def write_policy(tmp_path: Path, text: str) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_policy(path)


def vm(
    name: str = "vm1",
    *,
    id: str = "11111111-2222-3333-4444-555555555555",
    state: VmState = VmState.RUNNING,
    os: str | None = "Windows Server 2008 R2 Enterprise",
    dynamic: bool = True,
    startup_mb: int = 1024,
    maximum_mb: int = 4096,
) -> VmFacts:
    memory = MemorySettings(
        dynamic=dynamic,
        startup_mb=startup_mb,
        minimum_mb=startup_mb,
        maximum_mb=maximum_mb if dynamic else startup_mb,
        buffer=20,
        weight=5000,
    )
    return VmFacts(id=id, name=name, state=state, memory=memory, guest=GuestInfo(os_name=os))


def host(name: str = "hv01", groups: tuple[str, ...] = ()) -> HostSpec:
    return HostSpec(name=name, address=name, groups=groups)
