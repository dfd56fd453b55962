"""Setting names are one Literal: the contract's six names in order, and a misspelt
name is a type error where a dict lookup would have given None at run time."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import get_args

import pytest
from mypy import api as mypy_api

from hvdyn.core.model import FIELDS, OFFLINE_FIELDS, MemorySettings, SettingName
from hvdyn.core.sizes import STATIC_INERT_FIELDS
from hvdyn.policy.schema import SET_FIELDS

REPO = Path(__file__).resolve().parents[2]


def test_the_six_names_in_contract_order() -> None:
    # plan JSON, script parameters and the journal spell them so, in this order
    assert FIELDS == ("dynamic", "startup_mb", "minimum_mb", "maximum_mb", "buffer", "weight")
    assert get_args(SettingName) == FIELDS
    s = MemorySettings(dynamic=True, startup_mb=1024, minimum_mb=512, maximum_mb=4096,
                       buffer=20, weight=5000)
    assert list(s.as_dict()) == list(FIELDS)


def test_every_other_list_of_names_is_drawn_from_the_six() -> None:
    assert set(FIELDS) > OFFLINE_FIELDS
    assert set(STATIC_INERT_FIELDS) < set(FIELDS)
    assert set(SET_FIELDS.values()) < set(FIELDS)


def test_with_values_replaces_only_the_names_given() -> None:
    s = MemorySettings(dynamic=True, startup_mb=1024, minimum_mb=512, maximum_mb=4096,
                       buffer=20, weight=5000)
    assert s.with_values({}) == s
    assert s.with_values({"buffer": 50, "maximum_mb": 8192}).as_dict() == {
        **s.as_dict(), "buffer": 50, "maximum_mb": 8192}


@pytest.mark.slow
def test_mypy_refuses_a_misspelt_setting_name(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent("""\
        from hvdyn.core.model import Desired, MemorySettings

        def read(d: Desired, s: MemorySettings) -> None:
            d.get("startup_mb")
            s.get("maximum_mb")
            d.get("startup")
            s.get("maximum")
        """))
    # the source tree, wherever pytest runs and however hvdyn is installed
    config = tmp_path / "mypy.ini"
    config.write_text(f"[mypy]\nmypy_path = {REPO}\n")
    out, _, status = mypy_api.run([
        "--config-file", str(config), "--strict", "--no-incremental",
        "--follow-imports=silent", str(probe)])
    errors = [line for line in out.splitlines() if ": error:" in line]
    # exactly the two misspelt names, on their lines; the right ones pass
    assert status == 1, out
    assert [line.split(":")[1] for line in errors] == ["6", "7"], out
    assert all("Literal['dynamic', 'startup_mb'" in line for line in errors), out
