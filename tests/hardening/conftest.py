"""Hostile inputs, odd output paths, signals: a small simulated world per test.

The world and the runner are the suite's (tests/conftest.py); here an uncaught
exception is a result, so a test can say the command ended without a traceback.
"""

from __future__ import annotations

from functools import partial

import pytest

from tests.worlds import Make


def vm(name: str, *, weight: int = 100, startup: str = "1GB", vm_id: str | None = None) -> str:
    """A fixture VM entry that the suite's policy changes online (weight -> 5000)."""
    ident = f", id: {vm_id}" if vm_id else ""
    return (f'  - {{name: "{name}"{ident}, os: Windows Server 2008 R2 Enterprise, '
            f"memory: {{dynamic: true, startup: {startup}, maximum: 4GB, buffer: 20, "
            f"weight: {weight}}}}}\n")


@pytest.fixture
def make_world(make_world: Make) -> Make:
    """The suite's worlds, with exceptions caught into the result (`traceback_free`)."""

    return partial(make_world, catch_exceptions=True)
