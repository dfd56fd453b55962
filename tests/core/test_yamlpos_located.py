"""`YamlDoc.located`: an input error placed at a key path, whatever the input's error type."""

from __future__ import annotations

from hvdyn.core.errors import FixtureError, InventoryError
from hvdyn.core.yamlpos import parse_yaml

TEXT = """\
host:
  memory: 16GB
vms:
  - name: a
"""


def test_the_error_has_the_callers_type_and_the_paths_position() -> None:
    doc = parse_yaml(TEXT, "f.yaml", FixtureError)
    error = doc.located(FixtureError, ("host", "memory"), "too big", "1GB..1TB")
    assert isinstance(error, FixtureError)
    assert str(error) == "f.yaml:2:11: host.memory: too big (allowed: 1GB..1TB)"


def test_key_points_at_the_key_and_at_points_elsewhere() -> None:
    doc = parse_yaml(TEXT, "f.yaml", InventoryError)
    at_key = doc.located(InventoryError, ("host", "memory"), "unknown key", key=True)
    assert (at_key.line, at_key.col, at_key.key) == (2, 3, "host.memory")
    missing = doc.located(InventoryError, ("vms", 0, "memory"), "missing", at=("vms", 0))
    assert (missing.line, missing.col, missing.key) == (4, 5, "vms[0].memory")
