"""Marking a VM's still-planned changes: how plans block and how apply records outcomes."""

from __future__ import annotations

from hvdyn.core.model import Change, ChangeStatus, make_change, mark_planned


def _changes() -> tuple[Change, ...]:
    return (
        Change(field="startup_mb", current=1024, desired=2048, needs_off=True),
        Change(field="buffer", current=20, desired=30, needs_off=False,
               status=ChangeStatus.PENDING, reason="needs the VM off"),
        Change(field="weight", current=5000, desired=100, needs_off=False),
    )


def test_only_planned_changes_take_the_new_status_and_reason() -> None:
    marked = mark_planned(_changes(), ChangeStatus.BLOCKED, "HVD010: no room")
    assert [(c.field, c.status, c.reason) for c in marked] == [
        ("startup_mb", ChangeStatus.BLOCKED, "HVD010: no room"),
        ("buffer", ChangeStatus.PENDING, "needs the VM off"),
        ("weight", ChangeStatus.BLOCKED, "HVD010: no room"),
    ]


def test_marking_keeps_the_values_of_each_change() -> None:
    before = _changes()
    after = mark_planned(before, ChangeStatus.FAILED, "lost")
    assert [(c.field, c.current, c.desired, c.needs_off) for c in after] == [
        (c.field, c.current, c.desired, c.needs_off) for c in before
    ]


def test_nothing_planned_leaves_the_changes_as_they_are() -> None:
    pending = tuple(c for c in _changes() if c.status is ChangeStatus.PENDING)
    assert mark_planned(pending, ChangeStatus.APPLIED, "applied") == pending


def test_equal_changes_are_one_shared_instance() -> None:
    first = make_change("weight", 1, 2, False, ChangeStatus.PLANNED, "why")
    again = make_change("weight", 1, 2, False, ChangeStatus.PLANNED, "why")
    assert first is again
    assert make_change("dynamic", True, False, True, ChangeStatus.PLANNED, "") is not (
        make_change("dynamic", 1, 0, True, ChangeStatus.PLANNED, "")
    )  # a bool is not the int it equals
