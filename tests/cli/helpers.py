"""The bundled lab's paths, for the CLI tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB_POLICY = REPO / "examples" / "lab.yaml"
LAB_INVENTORY = REPO / "inventories" / "lab.yaml"
