"""Small simulated hosts (tests/observe/data) for the CLI run in-process (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runner import Hvdyn

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]
INVENTORY = DATA / "inventory.yaml"
POLICY = DATA / "policy.yaml"


@pytest.fixture
def collected(hvdyn: Hvdyn) -> Hvdyn:
    """The observe hosts with 48 samples a minute apart already stored."""
    run = hvdyn("collect", "-i", INVENTORY, "--samples", "48", "--interval", "60")
    assert run.exit_code == 0, run.stdout + run.stderr
    return hvdyn
