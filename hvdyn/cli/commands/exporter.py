"""`hvdyn exporter`: collect in the background and serve the values to Prometheus."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from hvdyn.cli.context import load_hosts, load_targets, transport_factory
from hvdyn.cli.options import duration, host_options, output_option, state_dir_of
from hvdyn.core.errors import EXIT_FAILED, EXIT_OK, InputError
from hvdyn.core.fileio import write_atomic

DEFAULT_LISTEN = "127.0.0.1:9868"


def parse_listen(text: str) -> tuple[str, int]:
    """'127.0.0.1:9868', '[::1]:9868', ':9868' (all addresses) -> (address, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--listen {text!r}: use ADDRESS:PORT, e.g. {DEFAULT_LISTEN} or :9868")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


@click.command("exporter")
@host_options
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, metavar="ADDRESS:PORT",
              help="Where /metrics is served (':9868' = every address).")
@click.option("--interval", default="60s", show_default=True, metavar="DURATION",
              help="How often each host is collected.")
@click.option("--policy", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also audit each host against this policy and expose the findings.")
@click.option("--audit-interval", default="15m", show_default=True, metavar="DURATION",
              help="With --policy: how often each host is audited (an audit discovers again).")
@click.option("--audit-since", default="24h", show_default=True, metavar="DURATION",
              help="With --policy: the health window, as `hvdyn audit --since`.")
@click.option("--keep", default=None, metavar="DURATION",
              help="Hourly delete stored history older than this (e.g. 30d).")
@click.option("--sim-step", default=None, metavar="DURATION",
              help="Simulated hosts only: how far their clock moves per collection "
                   "(default: the interval). Real hosts ignore it.")
@click.option("--once", is_flag=True,
              help="Collect every host once, print the metrics and exit (1 if a host failed).")
@output_option("--once: the metrics text")
def command(inventory: Path | None, limit: str | None, forks: int, state_dir: Path | None,
             ask_pass: bool, listen: str, interval: str, policy: Path | None,
             audit_interval: str, audit_since: str, keep: str | None, sim_step: str | None,
             once: bool, output: Path | None) -> int:
    """Serve Dynamic Memory metrics to Prometheus, collecting hosts in the background."""
    from prometheus_client import CollectorRegistry, generate_latest, start_http_server
    from prometheus_client.process_collector import ProcessCollector

    from hvdyn.analysis.audit import AuditReport, run_audit
    from hvdyn.core.model import HostSpec
    from hvdyn.prometheus.exporter import Exporter, Schedule, open_capturing_store
    from hvdyn.prometheus.expose import ViewsCollector

    period = duration(interval)
    step = duration(sim_step) if sim_step else period
    audit_window = duration(audit_since)
    address, port = parse_listen(listen)
    if output is not None and not once:
        raise InputError("-o/--output only goes with --once")
    if policy is not None:
        targets = load_targets(policy, inventory, limit)
        hosts, loaded_policy = targets.hosts, targets.policy
    else:
        hosts, loaded_policy = load_hosts(inventory, limit), None
    state = state_dir_of(state_dir)
    transport_for = transport_factory(state, ask_pass=ask_pass)
    schedule = Schedule(interval_s=period.total_seconds(), forks=forks,
                        audit_every_s=duration(audit_interval).total_seconds(),
                        keep=duration(keep) if keep else None)

    def log(message: str) -> None:
        click.echo(f"hvdyn exporter: {message}", err=True)

    with open_capturing_store(state) as store:
        def audit_host(spec: HostSpec) -> AuditReport:
            assert loaded_policy is not None
            return run_audit(loaded_policy, [spec], transport_for, store, since=audit_window,
                             forks=1)

        service = Exporter(hosts, store, transport_for, schedule,
                           sim_step_s=max(1, int(step.total_seconds())),
                           audit_host=audit_host if loaded_policy is not None else None, log=log)
        registry = CollectorRegistry()
        registry.register(ViewsCollector(service.views))
        if once:
            views = service.collect_all()
            text = generate_latest(registry).decode("utf-8")
            if output is None:
                sys.stdout.write(text)
            else:
                write_atomic(output, text)
            return EXIT_FAILED if any(not v.up for v in views) else EXIT_OK
        ProcessCollector(registry=registry)
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            server, _ = start_http_server(port, addr=address, registry=registry)
        except OSError as exc:
            raise InputError(f"--listen {listen}: {exc.strerror or exc}") from None
        log(f"serving http://{listen if address != '0.0.0.0' else f'*:{port}'}/metrics, "
            f"{len(hosts)} host{'' if len(hosts) == 1 else 's'} every {interval}")
        try:
            in_flight = service.run(stop)
        finally:
            server.shutdown()
            server.server_close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if in_flight:
            # Their threads may be stuck until the transport's deadline, and the thread
            # pools are joined at interpreter exit: end the process now. An unfinished
            # store write is rolled back by SQLite (the exporter journals no runs).
            log(f"stopped; abandoned the collection in flight of {', '.join(in_flight)}")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_OK)
        log("stopped")
    return EXIT_OK
