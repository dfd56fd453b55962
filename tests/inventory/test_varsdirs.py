"""read_vars: a vars file that is not a mapping is an error at its document."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdyn.core.errors import InventoryError
from hvdyn.inventory.varsdirs import read_vars


def test_a_vars_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("# the group's vars\n- a\n- b\n")
    with pytest.raises(InventoryError) as caught:
        read_vars([path])
    assert str(caught.value) == (
        f"{path}:2:1: <root>: a vars file must be a mapping of name: value"
    )
    assert (caught.value.line, caught.value.col, caught.value.key) == (2, 1, "")
