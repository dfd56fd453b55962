"""RollbackPolicy.from_journal: which journal rows a rollback serves back, and its host limits."""

from __future__ import annotations

from hvdyn.core.vocab import JournalOutcome, Restart
from hvdyn.history.rows import JournalRow
from hvdyn.policy.schema import DEFAULT_HOST_RESERVE_MB
from hvdyn.run.rollback import RollbackPolicy

VM = "0f6a1c2d-0000-4000-8000-000000000001"


def _row(host: str, outcome: JournalOutcome, field: str = "buffer") -> JournalRow:
    return JournalRow(
        id=1, run_id=7, host=host, vm_id=VM, vm_name="desk-001", field=field, before=20,
        desired=10, after=None, outcome=outcome, message=None, state_before=2, state_after=None,
        created="2026-01-01T00:00:00Z", updated="2026-01-01T00:00:00Z",
    )


def test_keeps_only_rows_that_may_have_written_by_host_and_vm() -> None:
    written = _row("hv01", JournalOutcome.APPLIED)
    sent = _row("hv01", JournalOutcome.SENT, field="weight")
    journal = [written, sent, _row("hv02", JournalOutcome.PENDING)]
    policy = RollbackPolicy.from_journal(7, journal)
    assert policy.run_id == 7
    assert dict(policy.rows) == {("hv01", VM.upper()): [written, sent]}
    assert policy.hosts == frozenset({"hv01"})


def test_host_limits_default_as_a_policy_without_a_host_section() -> None:
    policy = RollbackPolicy.from_journal(7, [])
    assert (policy.restart, policy.host_reserve_mb, policy.max_overcommit) == (
        None, DEFAULT_HOST_RESERVE_MB, None
    )
    assert policy.hosts == frozenset() and dict(policy.rows) == {}


def test_host_limits_and_restart_are_passed_through() -> None:
    policy = RollbackPolicy.from_journal(
        7, [], restart=Restart.NEVER, host_reserve_mb=4096, max_overcommit=1.5
    )
    assert (policy.restart, policy.host_reserve_mb, policy.max_overcommit) == (
        Restart.NEVER, 4096, 1.5
    )
