"""Located errors are raised as none, one, or all at once."""

from __future__ import annotations

import pytest

from hvdyn.core.errors import InventoryError, MultipleInputErrors, PolicyError, raise_located


def test_no_error_raises_nothing() -> None:
    raise_located([])


def test_one_error_is_raised_as_itself() -> None:
    error = PolicyError("p.yaml", 3, 5, "defaults.startup", "bad")
    with pytest.raises(PolicyError) as info:
        raise_located([error])
    assert info.value is error


def test_several_errors_come_at_once_sorted_by_file_and_position() -> None:
    errors = [
        InventoryError("b.yaml", 1, 1, "x", "third"),
        InventoryError("a.yaml", 7, 2, "y", "second"),
        InventoryError("a.yaml", 7, 1, "z", "first"),
    ]
    with pytest.raises(MultipleInputErrors) as info:
        raise_located(errors)
    assert [e.message for e in info.value.errors] == ["first", "second", "third"]
    assert [e.message for e in errors] == ["third", "second", "first"]  # input untouched


def test_sort_false_keeps_the_callers_order() -> None:
    errors = [PolicyError("p.yaml", 9, 1, "", "late"), PolicyError("p.yaml", 2, 1, "", "early")]
    with pytest.raises(MultipleInputErrors) as info:
        raise_located(errors, sort=False)
    assert [e.message for e in info.value.errors] == ["late", "early"]
