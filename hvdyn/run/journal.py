"""The change journal as the engine sees it: one run's intents and outcomes, in the store.

Each VM's planned changes are journaled before its script is sent and its
outcome after, so that `hvdyn rollback` (`hvdyn.run.rollback`) and `runs show`
know what a run may have written even when it was cut short.
"""

from __future__ import annotations

from hvdyn.core.model import ChangeStatus, MemorySettings, VmPlan
from hvdyn.core.vocab import JournalOutcome
from hvdyn.history import Store


class StoreJournal:
    """Writes intents and outcomes of one run into the store (see executor.JournalSink)."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store = store
        self.run_id = run_id

    def intent(self, host: str, vm_plan: VmPlan) -> None:
        changes = [c for c in vm_plan.changes if c.status is ChangeStatus.PLANNED]
        self.store.journal_intent(
            self.run_id, host=host, vm_id=vm_plan.vm.id, vm_name=vm_plan.vm.name,
            changes=changes, state_before=int(vm_plan.vm.state),
        )

    def outcome(
        self,
        host: str,
        vm_plan: VmPlan,
        outcome: JournalOutcome,
        *,
        after: MemorySettings | None,
        message: str,
        state_after: int | None,
    ) -> None:
        self.store.journal_outcome(
            self.run_id, vm_id=vm_plan.vm.id, outcome=outcome, after=after,
            message=message or None, state_after=state_after,
        )
