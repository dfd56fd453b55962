"""The words a run is stored under: stores, and scripts reading `hvdyn runs`, hold them."""

from __future__ import annotations

import pytest

from hvdyn.core.errors import EXIT_FAILED, EXIT_INVALID, EXIT_OK, EXIT_PENDING
from hvdyn.core.vocab import CHANGING_RUNS, RunKind, RunOutcome, outcome_of_run


def test_run_kinds_are_the_stored_command_names_in_listing_order() -> None:
    assert list(RunKind) == ["apply", "rollback", "audit", "collect"]
    assert sorted(CHANGING_RUNS) == ["apply", "rollback"]


@pytest.mark.parametrize(("kind", "by_code"), [
    (RunKind.APPLY, ("ok", "failed", "drift", "failed")),
    (RunKind.ROLLBACK, ("ok", "failed", "drift", "failed")),
    (RunKind.AUDIT, ("compliant", "failed", "drift", "failed")),
    (RunKind.COLLECT, ("ok", "failed", "failed", "failed")),
])
def test_each_kind_words_its_exit_codes(kind: RunKind, by_code: tuple[str, ...]) -> None:
    codes = (EXIT_OK, EXIT_FAILED, EXIT_PENDING, EXIT_INVALID)
    assert tuple(outcome_of_run(kind, code) for code in codes) == by_code
    interrupted = outcome_of_run(kind, EXIT_OK, interrupted=True)
    assert interrupted == RunOutcome.INTERRUPTED == "interrupted"
