"""What `apply` and `rollback` share: their options, the recorded run, Ctrl-C and SIGTERM.

Why shared: rollback must honour exactly the same restart, deadline and
safety options as apply, and be journaled the same way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from hvdyn.cli.options import Settings
from hvdyn.cli.progress import progress_display
from hvdyn.core.errors import EXIT_FAILED
from hvdyn.core.vocab import RunKind, RunOutcome, outcome_of_run

# The engine, the store and the report are imported where they are used.
if TYPE_CHECKING:
    from hvdyn.core.model import HostResult, HostSpec
    from hvdyn.planning.host_plan import PolicyLike
    from hvdyn.run.engine import Engine, RunOptions

F = TypeVar("F", bound=Callable[..., Any])


def apply_options(func: F) -> F:
    """--allow-restart, --dry-run and the restart/deadline options of apply and rollback."""
    options = [
        click.option("--allow-restart", is_flag=True,
                     help="Shut running VMs down gracefully for changes that need them off, "
                     "then start them again."),
        click.option("--dry-run", is_flag=True, help="Plan and show the scripts; change nothing."),
        click.option("--shutdown-timeout", type=click.IntRange(10, 7200), default=600,
                     show_default=True, help="Seconds to wait for a guest to shut down."),
        click.option("--start-timeout", type=click.IntRange(10, 7200), default=300,
                     show_default=True,
                     help="Seconds to wait for a started VM to run with heartbeat OK."),
        click.option("--force-off", is_flag=True,
                     help="Turn a VM off hard when its guest ignores the shutdown "
                     "(data loss risk). Implies --force-shutdown."),
        click.option("--force-shutdown", is_flag=True,
                     help="Shut down a guest with a locked user session (InitiateShutdown "
                     "32781) with Force: a clean OS shutdown that logs that session off "
                     "(its unsaved work is lost). Without it such VMs stay pending."),
        click.option("--include-saved", is_flag=True,
                     help="With --allow-restart: also resume saved VMs, restart them and "
                     "save them again."),
        click.option("--include-paused", is_flag=True,
                     help="With --allow-restart: also resume paused VMs, restart them and "
                     "pause them again."),
        click.option("--max-restarts-per-host", type=click.IntRange(1, 64), default=1,
                     show_default=True, help="VMs restarted at the same time on one host."),
        click.option("--host-timeout", type=click.IntRange(30, 86400), default=None,
                     help="Seconds for the whole apply on one host (default: the sum of "
                     "the per-VM deadlines)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_options_from(kwargs: dict[str, Any], settings: Settings) -> RunOptions:
    """Take the `apply_options` out of a command's kwargs, as the typed options of a run."""
    from hvdyn.planning.plan import PlanOptions
    from hvdyn.powershell.params import ApplyOptions
    from hvdyn.run.engine import RunOptions

    return RunOptions(
        mode="apply",
        dry_run=kwargs.pop("dry_run"),
        forks=settings.forks,
        plan=PlanOptions(allow_restart=kwargs.pop("allow_restart"),
                         include_saved=kwargs.pop("include_saved"),
                         include_paused=kwargs.pop("include_paused")),
        apply=ApplyOptions(shutdown_timeout_s=kwargs.pop("shutdown_timeout"),
                           start_timeout_s=kwargs.pop("start_timeout"),
                           force_off=kwargs.pop("force_off"),
                           force_shutdown=kwargs.pop("force_shutdown")),
        max_restarts_per_host=kwargs.pop("max_restarts_per_host"),
        host_timeout_s=kwargs.pop("host_timeout"),
    )


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    """One apply or rollback: what to converge, where, how, and what the run records."""

    command: Literal[RunKind.APPLY, RunKind.ROLLBACK]
    policy: PolicyLike
    hosts: tuple[HostSpec, ...]
    settings: Settings
    options: RunOptions
    policy_path: Path | None  # recorded with the run
    policy_digest: str | None
    inventory: Path  # recorded as given
    rollback_of: int | None = None  # the run a rollback undoes

    def recorded_options(self) -> dict[str, Any]:
        """The options the run row keeps (`runs show`, and rollback reads `inventory`)."""
        recorded: dict[str, Any] = {"inventory": str(self.inventory)}
        if self.rollback_of is not None:
            recorded["rollback_of"] = self.rollback_of
        return {**recorded, "limit": self.settings.limit,
                "allow_restart": self.options.plan.allow_restart,
                "force_off": self.options.apply.force_off,
                "force_shutdown": self.options.apply.force_shutdown}


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    """What a recorded apply or rollback returns; `run_id` is None for a dry run."""

    results: list[HostResult]
    exit_code: int
    run_id: int | None


# ---------------------------------------------------------------- Ctrl-C, SIGTERM

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C; systemd's stop, `timeout`, `kill`


def run_engine(engine: Engine, hosts: Sequence[HostSpec]) -> tuple[list[HostResult], bool]:
    """Run; the first Ctrl-C or SIGTERM stops scheduling (in-flight VMs finish), a second aborts.

    Stopping never cuts a VM's script: the hosts and batches not started are
    recorded as not sent, the in-flight ones finish and are journaled, and
    the run is recorded `interrupted`. A second signal raises
    KeyboardInterrupt (no report; the host pool still lets the scripts in
    flight return); the run is still recorded `interrupted`.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return engine.run(hosts), False
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}

    def on_signal(signum: int, frame: object) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        engine.stop()
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        click.echo(f"hvdyn: interrupted ({name}): starting no more hosts or VMs; the VMs in "
                   "flight finish and are journaled (signal again to abort)", err=True)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    try:
        return engine.run(hosts), interrupted.is_set()
    except KeyboardInterrupt:
        interrupted.set()
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def recorded_apply(request: ApplyRequest) -> ApplyOutcome:
    """Run apply (or rollback) with a store run and journal.

    A dry run sends nothing that changes a host and records no run.
    """
    from hvdyn.cli.context import transport_factory
    from hvdyn.core.model import exit_code
    from hvdyn.history import open_store
    from hvdyn.run.engine import Engine
    from hvdyn.run.journal import StoreJournal

    settings, options, hosts = request.settings, request.options, list(request.hosts)
    factory = transport_factory(settings.state_dir, ask_pass=settings.ask_pass)
    if options.dry_run:
        with progress_display(settings) as progress, open_store(settings.state_dir) as memory:
            results = Engine(request.policy, factory, options, progress=progress,
                             guests=memory).run(hosts)
        return ApplyOutcome(results, exit_code(results), None)
    store = open_store(settings.state_dir)
    try:
        run_id = store.start_run(
            request.command,
            policy_path=None if request.policy_path is None else str(request.policy_path),
            policy_digest=request.policy_digest, options=request.recorded_options())
        code = EXIT_FAILED
        outcome = RunOutcome.FAILED
        try:
            with progress_display(settings) as progress:
                engine = Engine(request.policy, factory, options, progress=progress,
                                journal=StoreJournal(store, run_id), guests=store)
                results, interrupted = run_engine(engine, hosts)
            code = exit_code(results)
            if interrupted:  # not everything asked for was done: never 0, nor 2 (drift)
                code = EXIT_FAILED
            outcome = outcome_of_run(request.command, code, interrupted=interrupted)
        except KeyboardInterrupt:
            outcome = RunOutcome.INTERRUPTED
            raise
        finally:
            store.finish_run(run_id, outcome=outcome, exit_code=code)
    finally:
        store.close()
    return ApplyOutcome(results, code, run_id)


def run_footer(outcome: ApplyOutcome, command: RunKind) -> None:
    """The run id last, on stderr, where it does not scroll away above a long report."""
    run_id, code = outcome.run_id, outcome.exit_code
    if run_id is not None:
        click.echo(f"{command}: run {run_id} (exit {code}); `hvdyn runs show {run_id}` for its "
                   f"journal, `hvdyn rollback {run_id}` to undo it", err=True)
