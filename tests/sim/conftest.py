"""Helpers for the simulator tests: small fixtures written to tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hvdyn.sim import load_fixture
from hvdyn.sim.state import HostState

SMALL = """\
host: {memory: 16GB, reserve: 2GB}
vms:
  - name: dm-vm
    state: running
    os: Windows Server 2008 R2 Enterprise
    memory: {dynamic: true, startup: 1GB, maximum: 4GB, buffer: 20, weight: 5000}
    demand: {base: 700MB, peak: 1500MB}
  - name: static-vm
    state: running
    os: Windows Server 2008 R2 Enterprise
    memory: {dynamic: false, startup: 2GB}
  - name: off-vm
    state: off
    os: Windows 7 Enterprise
    memory: {dynamic: false, startup: 2GB}
  - name: bare-vm
    state: running
    os: Windows 7 Enterprise
    ic_version: null
    memory: {dynamic: false, startup: 1GB}
  - name: saved-vm
    state: saved
    os: Windows 7 Enterprise
    memory: {dynamic: true, startup: 1GB, maximum: 2GB}
"""


@pytest.fixture
def write_fixture(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "host.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def small_path(write_fixture: Callable[..., Path]) -> Path:
    return write_fixture(SMALL)


@pytest.fixture
def host(small_path: Path) -> HostState:
    return load_fixture(small_path)


def by_name(host: HostState, name: str) -> str:
    """GUID of the first VM with this display name."""
    return next(vm.id for vm in host.vms if vm.name == name)


def settings(**kw: bool | int) -> dict[str, bool | int]:
    base: dict[str, bool | int] = {
        "dynamic": True, "startup_mb": 1024, "minimum_mb": 1024, "maximum_mb": 4096,
        "buffer": 20, "weight": 5000,
    }
    base.update(kw)
    return base
