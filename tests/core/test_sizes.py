"""Hyper-V's rules for memory sizes, each in one function that policy and plan share."""

from __future__ import annotations

from hvdyn.core.model import MemorySettings, Provenance
from hvdyn.core.sizes import (
    STATIC_INERT_FIELDS,
    dm_maximums_mb,
    overcommit_ratio,
    startup_above_maximum,
    stored_limits,
)


def test_a_static_vm_keeps_minimum_and_maximum_at_startup() -> None:
    assert stored_limits(False, 2048, 512, 8192) == (2048, 2048)


def test_a_dynamic_vm_keeps_its_own_minimum_and_maximum() -> None:
    assert stored_limits(True, 2048, 512, 8192) == (512, 8192)


def test_stored_limits_takes_any_size_type() -> None:
    """The policy passes values with provenance (or None), the plan whole MB."""
    assert stored_limits(False, "startup", None, "maximum") == ("startup", "startup")
    assert stored_limits(True, None, None, "maximum") == (None, "maximum")


def test_buffer_and_weight_are_inert_on_a_static_vm() -> None:
    assert STATIC_INERT_FIELDS == ("buffer", "weight")


def test_startup_up_to_maximum_is_fine() -> None:
    assert startup_above_maximum(True, 4096, 4096) is None
    assert startup_above_maximum(True, 1024, 4096) is None


def test_a_static_vm_cannot_break_startup_below_maximum() -> None:
    assert startup_above_maximum(False, 8192, 1024) is None


def test_startup_above_maximum_says_both_sizes() -> None:
    assert startup_above_maximum(True, 4096, 2048) == "startup 4GB is larger than maximum 2GB"
    assert startup_above_maximum(True, 1536, 1024) == (
        "startup 1536MB is larger than maximum 1GB"
    )


def test_startup_above_maximum_says_where_each_size_came_from() -> None:
    rule = Provenance(source="big", file="p.yaml", line=9)
    message = startup_above_maximum(True, 8192, 4096, startup_from=rule, maximum_from="current")
    assert message == "startup 8GB from big (p.yaml:9) is larger than maximum 4GB from current"


def _mem(dynamic: bool, maximum_mb: int) -> MemorySettings:
    startup = min(1024, maximum_mb)
    return MemorySettings(dynamic=dynamic, startup_mb=startup, minimum_mb=startup,
                          maximum_mb=maximum_mb, buffer=20, weight=5000)


def test_dm_maximums_count_dynamic_vms_only() -> None:
    """A static VM holds its startup and never grows: it adds nothing DM could hand out."""
    vms = [_mem(True, 4096), _mem(False, 8192), _mem(True, 2048)]
    assert dm_maximums_mb(vms) == 6144
    assert dm_maximums_mb([]) == 0


def test_overcommit_ratio_is_maximums_over_ram_left_after_the_reserve() -> None:
    assert overcommit_ratio(12288, 8192, 2048) == 2.0
    assert overcommit_ratio(0, 8192, 2048) == 0.0
    ratio = overcommit_ratio(10000, 8192, 2048)
    assert isinstance(ratio, float) and ratio == 10000 / 6144


def test_no_overcommit_ratio_when_the_reserve_takes_all_the_ram() -> None:
    assert overcommit_ratio(4096, 2048, 2048) is None
    assert overcommit_ratio(4096, 1024, 2048) is None
