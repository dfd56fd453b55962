"""`hvdyn audit`: drift and health findings, recorded as a run; the job a scheduler runs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from hvdyn.analysis.audit import AuditReport, run_audit, store_audit
from hvdyn.cli.context import load_targets, transport_factory
from hvdyn.cli.options import duration, host_options, output_option, state_dir_of
from hvdyn.cli.output import stdout_console
from hvdyn.core.fileio import write_atomic
from hvdyn.core.findings import Kind
from hvdyn.core.vocab import RunKind, outcome_of_run
from hvdyn.formats.audit_text import audit_json, print_audit
from hvdyn.formats.chart_data import HostHistory, host_history
from hvdyn.formats.html import audit_html
from hvdyn.formats.junit import to_junit
from hvdyn.formats.textfile import to_prometheus
from hvdyn.history import open_store

AUDIT_FORMATS = ("table", "json", "junit", "prometheus", "html")


def render_audit(report: AuditReport, fmt: str, since: str = "",
                 histories: Sequence[HostHistory] = ()) -> str:
    if fmt == "json":
        return audit_json(report)
    if fmt == "junit":
        return to_junit(report)
    if fmt == "prometheus":
        return to_prometheus(report)
    if fmt == "html":
        return audit_html(report, since or str(report.since), histories)
    raise ValueError(fmt)


@click.command("audit")
@click.argument("policy", type=click.Path(path_type=Path, dir_okay=False))
@host_options
@click.option("--since", default="24h", show_default=True, metavar="DURATION",
              help="Health window, counted back from each host's newest stored sample.")
@click.option("--format", "fmt", type=click.Choice(AUDIT_FORMATS), default="table",
              show_default=True)
@output_option("any format; the table goes to stdout")
def command(policy: Path, inventory: Path | None, limit: str | None, forks: int,
          state_dir: Path | None, ask_pass: bool, since: str, fmt: str,
          output: Path | None) -> int:
    """Drift and health findings (exit 2 on drift or an error finding, 1 if a host failed)."""
    window = duration(since)
    targets = load_targets(policy, inventory, limit)
    state = state_dir_of(state_dir)
    with open_store(state) as store:
        run_id = store.start_run(
            RunKind.AUDIT, policy_path=str(policy.absolute()), policy_digest=targets.policy.digest,
            options={"inventory": str(targets.inventory_path), "limit": limit, "since": since,
                     "format": fmt})
        report = run_audit(targets.policy, targets.hosts,
                           transport_factory(state, ask_pass=ask_pass), store,
                           since=window, forks=forks, keep_samples=fmt == "html")
        report = AuditReport(policy=report.policy, since=report.since, hosts=report.hosts,
                             findings=report.findings, run_id=run_id)
        store_audit(store, run_id, report)
        code = report.exit_code
        histories = [host_history(store, h.host, window) for h in report.hosts
                     if fmt == "html" and store.newest_ts(h.host) is not None]
        store.finish_run(run_id, outcome=outcome_of_run(RunKind.AUDIT, code), exit_code=code)
    if fmt == "table":
        print_audit(report, stdout_console())
        if output is not None:
            write_atomic(output, audit_json(report))
    else:
        text = render_audit(report, fmt, since, histories)
        if output is None:
            sys.stdout.write(text)
        else:
            write_atomic(output, text)  # 0644: readable by node_exporter / the web server
    if output is not None:
        click.echo(f"wrote {output}", err=True)
    failing = [f for f in report.findings if f.fails and f.kind is not Kind.DRIFT]
    for f in failing:
        click.echo(f"{f.id} {f.severity}: {f.host}/{f.vm_name or '-'}: {f.message}", err=True)
    return code
