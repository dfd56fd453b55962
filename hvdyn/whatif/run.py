"""One what-if over the selected hosts: history -> proposals -> two replays -> answers."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from hvdyn.core.errors import EXIT_OK, EXIT_PENDING
from hvdyn.core.model import GuestInfo, HostSpec, VmState
from hvdyn.history import Store, open_store
from hvdyn.history.source import HistorySource, open_history
from hvdyn.policy.evaluate import Policy
from hvdyn.policy.load import load_policy
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


def whatif_host(store: HistorySource, policy: Policy, spec: HostSpec, since: timedelta, *,
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


def run_whatif(state_dir: Path, policy: Policy, hosts: Sequence[HostSpec], since: timedelta,
               since_text: str, *, keep_series: bool = False, jobs: int = 1,
               prometheus_url: str | None = None) -> WhatifReport:
    """Replay every host; with `jobs` > 1, hosts are spread over that many processes.

    Each host is independent and the work is CPU-bound (reading SQLite rows,
    array maths), so processes rather than threads: a 2-core machine halves
    the time for a fleet. History read from Prometheus is read host by host.
    """
    specs = sorted(hosts, key=lambda h: h.name)
    work = [(spec, since, keep_series) for spec in specs]
    if prometheus_url is not None:
        with open_history(state_dir, prometheus_url, since) as source:
            results = [whatif_host(source, policy, spec, since, keep_series=keep)
                       for spec, since, keep in work]
    elif jobs > 1 and len(specs) >= MIN_HOSTS_PER_PROCESS * 2:
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init,
                                 initargs=(state_dir, policy.path)) as pool:
            results = list(pool.map(_worker_host, work, chunksize=MIN_HOSTS_PER_PROCESS))
    else:
        with open_store(state_dir) as store:
            results = [whatif_host(store, policy, spec, since, keep_series=keep)
                       for spec, since, keep in work]
    answers = [r for r in results if r is not None]
    missing = [spec.name for spec, r in zip(specs, results, strict=True) if r is None]
    return WhatifReport(policy=str(policy.path), since=since_text, hosts=tuple(answers),
                        without_history=tuple(missing))


MIN_HOSTS_PER_PROCESS = 4
_WORKER: dict[str, object] = {}


def _worker_init(state_dir: Path, policy_path: Path) -> None:
    _WORKER["store"] = open_store(state_dir)
    _WORKER["policy"] = load_policy(policy_path)


def _worker_host(job: tuple[HostSpec, timedelta, bool]) -> HostAnswer | None:
    spec, since, keep_series = job
    store, policy = _WORKER["store"], _WORKER["policy"]
    assert isinstance(store, Store) and isinstance(policy, Policy)
    return whatif_host(store, policy, spec, since, keep_series=keep_series)
