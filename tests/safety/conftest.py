"""Apply's safety: the suite's small simulated worlds (tests/conftest.py), VMs built here."""

from __future__ import annotations


def vm(name: str, *, state: str = "running", startup: str = "1GB", maximum: str = "4GB",
       buffer: int = 20, weight: int = 5000, extra: str = "") -> str:
    return (f"  - {{name: {name}, state: {state}, os: Windows Server 2008 R2 Enterprise,"
            f" memory: {{dynamic: true, startup: {startup}, maximum: {maximum},"
            f" buffer: {buffer}, weight: {weight}}}{extra}}}\n")
