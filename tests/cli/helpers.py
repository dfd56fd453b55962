"""Shared helpers for CLI tests: the lab's paths and an invocation result."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LAB_POLICY = REPO / "examples" / "lab.yaml"
LAB_INVENTORY = REPO / "inventories" / "lab.yaml"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


Hvdyn = Callable[..., Run]
