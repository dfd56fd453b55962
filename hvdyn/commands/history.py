"""report and recommend: read the stored history; no host is contacted."""

from __future__ import annotations

import fnmatch
import json
import sys
from dataclasses import asdict
from datetime import timedelta
from html import escape
from pathlib import Path

import click
import yaml
from rich.table import Table
from rich.text import Text

from hvdyn.advise import Advice, advise, advise_rollups
from hvdyn.cli import STATE_DIR_OPTION, cli, stdout_console
from hvdyn.commands.observe import duration, output_option, state_dir_of
from hvdyn.errors import EXIT_OK, InputError
from hvdyn.fileio import write_atomic
from hvdyn.formats import charts, rollup_charts
from hvdyn.formats.html import charts_html, page, table
from hvdyn.formats.svg import Chart, document
from hvdyn.history.resolution import RAW, resolution_for
from hvdyn.report import printable
from hvdyn.store import Store, open_store, window_start
from hvdyn.store_rows import RollupRow, SampleRow


def _hosts(store: Store, host: str | None) -> list[str]:
    hosts = store.sample_hosts()
    if host is not None:
        hosts = [h for h in hosts if fnmatch.fnmatch(h.lower(), host.lower())]
        if not hosts:
            raise InputError(f"no stored samples for host {host!r}; run `hvdyn collect` first")
    return hosts


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)


# ---------------------------------------------------------------- recommend


def gather_advice(store: Store, hosts: list[str], since: timedelta, headroom: float
                  ) -> list[Advice]:
    """Advice per host from raw samples, or from rollups for long windows (see resolution)."""
    advice: list[Advice] = []
    for host in hosts:
        start = window_start(store, host, since)
        settings = store.latest_vm_settings(host=host)
        # rollups live in the SQLite store; other history sources give raw samples
        res = resolution_for(store, host, since, summary=True) \
            if isinstance(store, Store) else RAW
        if res == RAW:
            samples = store.brief_samples(host=host, since=start, include_ambiguous=False)
            advice += advise(host, samples, settings, headroom=headroom)
        else:
            advice += advise_rollups(host, store.rollups(host, res, since=start), settings,
                                     headroom=headroom)
    return advice


def _size(mb: int) -> str:
    return f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"


def advice_yaml(advice: list[Advice], since: str) -> str:
    """A `rules:` snippet, one rule per advised VM matched by vm_id; refusals as comments."""
    rules = [
        {"name": f"recommend-{a.vm_name}-{a.vm_id[:8].lower()}",
         "match": {"vm_id": a.vm_id},
         "set": {"startup": _size(a.startup_mb or 0), "maximum": _size(a.maximum_mb or 0),
                 "buffer": a.buffer}}
        for a in advice if not a.refused
    ]
    head = [f"# hvdyn recommend --since {since}: paste under `rules:` of a policy, after the "
            "rules these should override."]
    for a in advice:
        if a.refused:
            head.append(f"# no advice for {a.host}/{a.vm_name!r} ({a.vm_id}): {a.reason}")
        elif a.evidence is not None:
            e = a.evidence
            head.append(f"# {a.host}/{a.vm_name!r}: {a.verdict}; {e.samples} samples, demand "
                        f"P5 {e.p5_mb} P50 {e.p50_mb} P99 {e.p99_mb} max {e.max_mb}MB")
    body = yaml.safe_dump({"rules": rules}, sort_keys=False, allow_unicode=True,
                          default_flow_style=None, width=1000)
    return "\n".join(head) + "\n" + body


def advice_json(advice: list[Advice]) -> str:
    rows = []
    for a in advice:
        row = asdict(a)
        row["refused"] = a.refused
        rows.append(row)
    return json.dumps({"vms": rows}, indent=2, ensure_ascii=False) + "\n"


def print_advice(advice: list[Advice]) -> None:
    grid = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("host", "VM", "verdict", "startup", "maximum", "buffer", "samples",
                   "demand P5/P50/P99", "why"):
        grid.add_column(column, overflow="fold")
    for a in advice:
        cur = a.current
        def pair(now: int | None, new: int | None) -> str:
            return f"{'-' if now is None else now} -> {'-' if new is None else new}"
        e = a.evidence
        grid.add_row(
            a.host, printable(a.vm_name),
            Text(a.verdict, {"undersized": "red", "oversized": "yellow",
                             "refused": "dim"}.get(a.verdict, "green")),
            pair(cur.startup_mb if cur else None, a.startup_mb),
            pair(cur.maximum_mb if cur and cur.dynamic else None, a.maximum_mb),
            pair(cur.buffer if cur else None, a.buffer),
            str(e.samples) if e else "-",
            f"{e.p5_mb}/{e.p50_mb}/{e.p99_mb}" if e else "-",
            a.reason,
        )
    stdout_console().print(grid)


@cli.command()
@STATE_DIR_OPTION
@click.option("--host", default=None, help="Only this host (glob).")
@click.option("--since", default="14d", show_default=True, metavar="DURATION",
              help="History used, counted back from each host's newest sample.")
@click.option("--headroom", type=click.IntRange(0, 200), default=20, show_default=True,
              help="Percent added to the busy-level target for the maximum.")
@click.option("--format", "fmt", type=click.Choice(("table", "yaml", "json")),
              default="table", show_default=True)
@output_option("yaml/json/table")
def recommend(state_dir: Path | None, host: str | None, since: str, headroom: int, fmt: str,
              output: Path | None) -> int:
    """Right-size startup, maximum and buffer per VM from stored counters."""
    window = duration(since)
    with open_store(state_dir_of(state_dir)) as store:
        advice = gather_advice(store, _hosts(store, host), window, headroom / 100)
    if fmt == "table" and output is None:
        print_advice(advice)
    elif fmt == "json":
        _write(advice_json(advice), output)
    else:
        _write(advice_yaml(advice, since), output)
    return EXIT_OK


# ---------------------------------------------------------------- report


DETAIL_HOSTS = 5  # more hosts than this: one overview page, per-VM charts via --host


def report_charts(store: Store, host: str, since: timedelta, vm: str | None) -> list[Chart]:
    """The host's available memory, then pressure and assigned memory per VM.

    Long windows are drawn from rollups (see `hvdyn.history.resolution`), so a
    chart holds at most a few hundred points per line whatever the window.
    """
    start = window_start(store, host, since)
    settings = {s.vm_id.upper(): s for s in store.latest_vm_settings(host=host)}
    res = resolution_for(store, host, since)
    if res != RAW:
        rollups = store.rollups(host, res, since=start)
        out = [rollup_charts.host_available(host, store.balancer_rollups(host, res, start))]
        by_series: dict[str, list[RollupRow]] = {}
        for r in rollups:
            if r.vm_id is not None:
                by_series.setdefault(r.vm_id.upper(), []).append(r)
        for vm_id, rows in sorted(by_series.items(), key=lambda kv: kv[1][-1].vm_name.lower()):
            name = rows[-1].vm_name
            if _wanted(vm, name, vm_id):
                rows.sort(key=lambda r: r.bucket)
                out.append(rollup_charts.vm_pressure(f"{host}/{name}", rows))
                out.append(rollup_charts.vm_memory(f"{host}/{name}", rows, settings.get(vm_id)))
        return out
    samples = store.brief_samples(host=host, since=start, include_ambiguous=False)
    out = [charts.host_available(host, store.balancer_samples(host=host, since=start))]
    by_vm: dict[str, list[SampleRow]] = {}
    for s in samples:
        if s.vm_id is not None:
            by_vm.setdefault(s.vm_id, []).append(s)
    for vm_id, vm_rows in sorted(by_vm.items(), key=lambda kv: kv[1][-1].vm_name.lower()):
        name = vm_rows[-1].vm_name
        if not _wanted(vm, name, vm_id):
            continue
        out.append(charts.vm_pressure(f"{host}/{name}", vm_rows))
        out.append(charts.vm_memory(f"{host}/{name}", vm_rows, settings.get(vm_id)))
    return out


def _wanted(vm: str | None, name: str, vm_id: str) -> bool:
    return vm is None or fnmatch.fnmatch(name.lower(), vm.lower()) \
        or vm.lower().strip("{}") == vm_id.lower()


def overview_charts(store: Store, host: str, since: timedelta) -> list[Chart]:
    """A host's line on the fleet overview: its balancer available memory only."""
    start = window_start(store, host, since)
    res = resolution_for(store, host, since)
    if res != RAW:
        return [rollup_charts.host_available(host, store.balancer_rollups(host, res, start))]
    return [charts.host_available(host, store.balancer_samples(host=host, since=start))]


@cli.command()
@STATE_DIR_OPTION
@click.option("--host", default=None, help="Only this host (glob).")
@click.option("--vm", default=None, help="Only VMs whose name matches this glob (or this id).")
@click.option("--since", default="7d", show_default=True, metavar="DURATION",
              help="History shown, counted back from each host's newest sample.")
@output_option(".html or .svg; HTML to stdout when omitted")
def report(state_dir: Path | None, host: str | None, vm: str | None, since: str,
           output: Path | None) -> int:
    """Charts of pressure, assigned memory against startup/maximum, host available memory."""
    window = duration(since)
    if output is not None and output.suffix.lower() not in (".html", ".htm", ".svg"):
        raise InputError(f"-o {output}: use a .html or .svg file name")
    with open_store(state_dir_of(state_dir)) as store:
        hosts = _hosts(store, host)
        overview = len(hosts) > DETAIL_HOSTS and vm is None
        sections = {h: overview_charts(store, h, window) if overview
                    else report_charts(store, h, window, vm) for h in hosts}
        newest = {h: store.newest_ts(h) or "-" for h in hosts}
    title = f"hvdyn report ({since} back from each host's newest sample)"
    if overview:
        title += (f"; {len(hosts)} hosts: fleet overview (per-VM charts: "
                  "hvdyn report --host NAME, or --vm GLOB)")
    if output is not None and output.suffix.lower() == ".svg":
        _write(document([c for cs in sections.values() for c in cs], title), output)
        return EXIT_OK
    parts = [table(["host", "newest sample", "charts"],
                   [[h, newest[h], str(len(cs))] for h, cs in sections.items()])]
    for h, cs in sections.items():
        parts.append(f"<section><h2>{escape(h)}</h2>{charts_html(cs)}</section>")
    _write(page(title, parts), output)
    return EXIT_OK
