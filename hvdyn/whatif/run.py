"""One what-if over the selected hosts: history -> proposals -> two replays -> answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from hvdyn.errors import EXIT_OK, EXIT_PENDING
from hvdyn.model import GuestInfo, HostSpec, VmState
from hvdyn.policy import Policy
from hvdyn.store import Store
from hvdyn.whatif.history import load_history
from hvdyn.whatif.propose import propose
from hvdyn.whatif.replay import balloon_capable, proposed_grid, recorded_grid, replay
from hvdyn.whatif.verdict import FITS, HostAnswer, answer


@dataclass(frozen=True, slots=True, kw_only=True)
class WhatifReport:
    policy: str
    since: str
    hosts: tuple[HostAnswer, ...]
    without_history: tuple[str, ...]  # selected hosts with no samples in the store

    @property
    def exit_code(self) -> int:
        """0 when every host fits under the proposal, 2 when any is at risk or does not fit."""
        return EXIT_OK if all(h.proposed.verdict == FITS for h in self.hosts) else EXIT_PENDING


def whatif_host(store: Store, policy: Policy, spec: HostSpec, since: timedelta, *,
                keep_series: bool = False) -> HostAnswer | None:
    history = load_history(store, spec.name, since, policy.host_reserve_mb)
    if history is None:
        return None
    rows = store.latest_vm_settings(host=spec.name)
    for row in rows:  # guests remembered by plan/apply, else the OS collect last saw
        if row.os and row.vm_id.upper() not in history.guests:
            history.guests[row.vm_id.upper()] = GuestInfo(os_name=row.os, arch=row.arch)
    proposals = propose(policy, spec, rows, history.guests)
    capable = balloon_capable(history)
    current_grid = recorded_grid(history)
    new_grid = proposed_grid(history, current_grid,
                             {vm_id: p.target for vm_id, p in proposals.items() if p.changes})
    replayed = set(history.vm_ids)
    not_replayed = [(row.vm_name, proposals[row.vm_id.upper()]) for row in rows
                    if row.vm_id.upper() not in replayed and row.state == VmState.RUNNING]
    return answer(
        history, not_replayed=not_replayed, current_grid=current_grid, proposed_grid=new_grid,
        capable=capable,
        current=replay(history, current_grid, capable),
        proposed=replay(history, new_grid, capable),
        proposals=proposals, reserve_mb=policy.host_reserve_mb,
        max_overcommit=policy.max_overcommit, keep_series=keep_series,
    )


def run_whatif(store: Store, policy: Policy, hosts: Sequence[HostSpec], since: timedelta,
               since_text: str, *, keep_series: bool = False) -> WhatifReport:
    answers: list[HostAnswer] = []
    missing: list[str] = []
    for spec in sorted(hosts, key=lambda h: h.name):
        result = whatif_host(store, policy, spec, since, keep_series=keep_series)
        if result is None:
            missing.append(spec.name)
        else:
            answers.append(result)
    return WhatifReport(policy=str(policy.path), since=since_text, hosts=tuple(answers),
                        without_history=tuple(missing))
