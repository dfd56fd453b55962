"""Rollback as a policy: the journaled "before" values served to the engine.

Why a policy: `rollback RUN` must go through the same discovery, plan,
checks and restart options as `apply`, so the journaled "before" values are
served to the engine exactly like a policy's desired values. A field that
now holds neither the journaled before nor what the run wrote was changed by
someone else since: that VM is blocked, never overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hvdyn.core.model import (
    Desired,
    DesiredValue,
    HostSpec,
    Provenance,
    SettingName,
    VmFacts,
)
from hvdyn.core.vocab import JournalOutcome, Restart
from hvdyn.history.rows import JournalRow
from hvdyn.policy.evaluate import Resolution
from hvdyn.policy.schema import DEFAULT_HOST_RESERVE_MB

# Journal outcomes after which the host may hold the run's values.
MAY_HAVE_WRITTEN = frozenset(
    {JournalOutcome.APPLIED, JournalOutcome.FAILED, JournalOutcome.UNKNOWN, JournalOutcome.SENT}
)


@dataclass(frozen=True, slots=True)
class RollbackPolicy:
    """Desired values = the journaled "before" of every field a run may have written."""

    run_id: int
    rows: Mapping[tuple[str, str], Sequence[JournalRow]]  # (host, VM GUID upper)
    restart: Restart | None = None
    host_reserve_mb: int = DEFAULT_HOST_RESERVE_MB
    max_overcommit: float | None = None
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_journal(
        cls,
        run_id: int,
        journal: Sequence[JournalRow],
        *,
        restart: Restart | None = None,
        host_reserve_mb: int = DEFAULT_HOST_RESERVE_MB,
        max_overcommit: float | None = None,
    ) -> RollbackPolicy:
        """The rows that may have written, by VM; host limits as the run's policy had them."""
        rows: dict[tuple[str, str], list[JournalRow]] = {}
        for row in journal:
            if row.outcome in MAY_HAVE_WRITTEN:
                rows.setdefault((row.host, row.vm_id.upper()), []).append(row)
        return cls(
            run_id,
            rows,
            restart=restart,
            host_reserve_mb=host_reserve_mb,
            max_overcommit=max_overcommit,
            hosts=frozenset(host for host, _ in rows),
        )

    def resolve(self, vm: VmFacts, host: HostSpec) -> Resolution:
        rows = self.rows.get((host.name, vm.id.upper()))
        if not rows:
            return Resolution(note=f"not changed by run {self.run_id}")
        source = Provenance(source=f"journal of run {self.run_id}")
        values: dict[SettingName, DesiredValue] = {}
        moved: list[str] = []
        for row in rows:
            now = vm.memory.get(row.field)
            written = {row.desired} | ({row.after} if row.after is not None else set())
            if now != row.before and now not in written:
                moved.append(f"{row.field} is {now}, the run changed it from {row.before} "
                             f"to {row.desired}")
            values[row.field] = DesiredValue(value=row.before, provenance=source)
        error = None
        if moved:
            error = f"changed since run {self.run_id}, left alone: " + "; ".join(moved)
        desired = Desired(values=values, rules=(f"rollback of run {self.run_id}",))
        return Resolution(desired=desired, error=error, restart=self.restart)
