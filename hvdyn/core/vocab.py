"""The words stages pass to each other, each spelled once.

Why here: the same outcome travels from a script's `result` record through
verification into the journal table and out to `hvdyn runs`; a word
misspelled in one place would be a silent mismatch, not an error. Each
vocabulary is a `StrEnum`, so members compare and serialise as the plain
strings already on the wire, in stored databases and in JSON output.
"""

from __future__ import annotations

import enum

from hvdyn.core.errors import EXIT_FAILED, EXIT_OK, EXIT_PENDING


class Restart(enum.StrEnum):
    """A policy rule's `restart:`: may apply shut a running VM down for needs-off changes?"""

    ALLOWED = "allowed"  # yes, even without --allow-restart
    NEVER = "never"  # no, even with --allow-restart


class ResultOutcome(enum.StrEnum):
    """What an apply script reports for one VM (the `outcome` of a `result` record)."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"  # already as desired: nothing written
    CONFLICT = "conflict"  # the VM changed since the plan: left alone
    PENDING = "pending"  # needs the VM off and it may not be restarted
    FAILED = "failed"


class JournalOutcome(enum.StrEnum):
    """A journaled VM's outcome (the `journal.outcome` column; its CHECK is built from this).

    The order is the order of the column's CHECK list: keep it.
    """

    SENT = "sent"  # intent written, script sent, no read-back yet
    APPLIED = "applied"
    FAILED = "failed"
    PENDING = "pending"
    CONFLICT = "conflict"
    UNKNOWN = "unknown"  # the connection was lost or the run ended before the read-back

    @classmethod
    def sql_list(cls) -> str:
        """The members as an SQL value list: ``('sent','applied',...)``."""
        return "(" + ",".join(f"'{member}'" for member in cls) + ")"


class ProbeStatus(enum.StrEnum):
    """The answer to one `probe` check (the `status` of a `probe` record)."""

    OK = "ok"
    NO = "no"
    ERROR = "error"


class Step(enum.StrEnum):
    """What a host is doing, as the engine reports it to a progress display.

    `APPLY` and `RESTART` are followed by the names of the VMs in the batch.
    """

    DISCOVER = "discover"
    APPLY = "apply"
    RESTART = "restart"
    DONE = "done"


class RunKind(enum.StrEnum):
    """The command a recorded run was (the `runs.command` column, `runs --command`).

    The order is the order `runs --command` lists them in: keep it.
    """

    APPLY = "apply"
    ROLLBACK = "rollback"
    AUDIT = "audit"
    COLLECT = "collect"


CHANGING_RUNS = frozenset({RunKind.APPLY, RunKind.ROLLBACK})  # the runs that journal changes


class RunOutcome(enum.StrEnum):
    """How a recorded run ended (the `runs.outcome` column); `outcome_of_run` picks it."""

    OK = "ok"
    COMPLIANT = "compliant"  # audit's word for ok: nothing drifted
    DRIFT = "drift"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM: not everything asked for was done


# Exit code -> outcome, per kind; an exit code not listed is FAILED. The kinds
# differ on purpose: a clean audit is `compliant`, collect has no drift.
_CHANGED = {EXIT_OK: RunOutcome.OK, EXIT_FAILED: RunOutcome.FAILED, EXIT_PENDING: RunOutcome.DRIFT}
_OUTCOME_OF_EXIT: dict[RunKind, dict[int, RunOutcome]] = {
    RunKind.APPLY: _CHANGED,
    RunKind.ROLLBACK: _CHANGED,
    RunKind.AUDIT: {EXIT_OK: RunOutcome.COMPLIANT, EXIT_FAILED: RunOutcome.FAILED,
                    EXIT_PENDING: RunOutcome.DRIFT},
    RunKind.COLLECT: {EXIT_OK: RunOutcome.OK},  # collect exits 0 or 1
}


def outcome_of_run(kind: RunKind, exit_code: int, *, interrupted: bool = False) -> RunOutcome:
    """The outcome a run of `kind` records for its exit code (or for being interrupted)."""
    if interrupted:
        return RunOutcome.INTERRUPTED
    return _OUTCOME_OF_EXIT[kind].get(exit_code, RunOutcome.FAILED)
