"""`hvdyn recommend` output: one line per VM on a terminal, evidence in -v, JSON, YAML.

Why one line per VM: a 60-VM lab printed 443 lines when each row carried
its evidence; an operator scans current -> advised and the verdict first
and asks for the evidence (`-v`, `--format json|yaml`) when deciding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

import yaml
from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from hvdyn.analysis.recommend import Advice
from hvdyn.core.model import format_mb
from hvdyn.formats.text import printable

VERDICT_STYLE = {"undersized": "red", "oversized": "yellow", "refused": "dim",
                 "unknown": "dim"}


def _size(mb: int) -> str:
    return f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"


def advice_yaml(advice: Sequence[Advice], since: str) -> str:
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
            head.append(f"# {a.host}/{a.vm_name!r}: {a.verdict}, confidence {a.confidence}; "
                        f"{e.samples} samples, demand "
                        f"P5 {e.p5_mb} P50 {e.p50_mb} P99 {e.p99_mb} max {e.max_mb}MB")
    body = yaml.safe_dump({"rules": rules}, sort_keys=False, allow_unicode=True,
                          default_flow_style=None, width=1000)
    return "\n".join(head) + "\n" + body


def advice_json(advice: Sequence[Advice]) -> str:
    rows = []
    for a in advice:
        row = asdict(a)
        row["refused"] = a.refused
        row["confidence"] = a.confidence
        rows.append(row)
    return json.dumps({"vms": rows}, indent=2, ensure_ascii=False) + "\n"


def _pair(now: int | None, new: int | None, size: bool = True) -> str:
    def show(value: int | None) -> str:
        if value is None:
            return "-"
        return format_mb(value) if size else f"{value}%"
    if new is None:
        return show(now)
    if now == new:
        return f"{show(now)} same"
    return f"{show(now)}->{show(new)}"


def evidence_line(a: Advice) -> str:
    e = a.evidence
    if e is None:
        return a.reason
    return (f"{a.reason}; {e.samples} samples {e.first_ts}..{e.last_ts}; demand "
            f"P5 {e.p5_mb} P50 {e.p50_mb} P95 {e.p95_mb} P99 {e.p99_mb} max {e.max_mb}MB; "
            f"burst {e.burst_pct}%")


def _grid(advice: Sequence[Advice], *, with_host: bool) -> Table:
    grid = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0))
    if with_host:
        grid.add_column("host", no_wrap=True)
    grid.add_column("VM", overflow="fold", min_width=8)
    for name in ("verdict", "startup", "maximum", "buffer", "conf"):
        grid.add_column(name, no_wrap=True)
    grid.add_column("note", overflow="fold", min_width=8)
    for a in advice:
        cur = a.current
        cells: list[str | Text] = [a.host] if with_host else []
        cells += [
            printable(a.vm_name),
            Text(a.verdict, VERDICT_STYLE.get(a.verdict, "green")),
            _pair(cur.startup_mb if cur else None, a.startup_mb),
            _pair(cur.maximum_mb if cur and cur.dynamic else None, a.maximum_mb),
            _pair(cur.buffer if cur else None, a.buffer, size=False),
            a.confidence,
            a.brief,
        ]
        grid.add_row(*cells)
    return grid


def print_advice(advice: Sequence[Advice], console: Console, *, verbose: bool = False) -> None:
    """One line per VM: current -> advised startup, maximum, buffer; verdict; confidence.

    When the full table (with a host column) fits the console it is printed
    as is: always so when piped (one record per line). On a narrower
    terminal the host becomes a heading over its VMs, and only the VM and
    note columns may wrap (inside the cell), never a verdict or a size.
    """
    flat = _grid(advice, with_host=True)
    if Measurement.get(console, console.options.update_width(10_000), flat).maximum \
            <= console.width:
        console.print(flat)
    else:
        hosts = sorted({a.host for a in advice})
        for host in hosts:
            mine = [a for a in advice if a.host == host]
            console.print(Text(f"{host} ({len(mine)} VMs)", style="bold"))
            console.print(Padding(_grid(mine, with_host=False), (0, 0, 0, 2), expand=False))
    if verbose:
        console.print(Text("evidence:", style="bold"))
        for a in advice:
            console.print(Text(f"  {a.host}/{printable(a.vm_name)}: {evidence_line(a)}"))
    counts: dict[str, int] = {}
    for a in advice:
        counts[a.verdict] = counts.get(a.verdict, 0) + 1
    summary = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
    console.print(Text(f"summary: {len(advice)} VMs: {summary}", style="bold"))
    if not verbose:
        console.print(Text("evidence per VM: -v, or --format json|yaml", style="dim"))
