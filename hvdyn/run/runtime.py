"""What every command that talks to hosts shares: fan-out, run-and-parse, discovery.

apply, plan, collect, ping, probe and the exporter all run work per host on a
thread pool and read HVDYN1 records back; none of this knows what the work is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from hvdyn.core.errors import ProtocolError
from hvdyn.core.model import HostFacts, HostSpec, Script
from hvdyn.powershell.params import discover_params
from hvdyn.powershell.record_parser import parse_stream
from hvdyn.powershell.records import ParsedOutput
from hvdyn.powershell.templates import render_script
from hvdyn.run.facts import host_facts
from hvdyn.transport import Transport

DISCOVER_TIMEOUT_S = 300.0

T = TypeVar("T")


def fan_out(hosts: Sequence[HostSpec], work: Callable[[HostSpec], T], forks: int) -> list[T]:
    """Run `work` once per host on a pool of `forks` threads; results in host order.

    `work` must not raise for a host's own failure (return it as data), so one
    host never stops the others.
    """
    workers = max(1, min(forks, len(hosts) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hvdyn-host") as pool:
        return list(pool.map(work, hosts))


def run_script(
    transport: Transport, spec: HostSpec, script: Script, *, timeout_s: float
) -> ParsedOutput:
    """Run a script and parse its records; a broken stream names stderr too."""
    result = transport.run(script, timeout_s=timeout_s)
    try:
        return parse_stream(result.stdout, host=spec.name, script=script.name)
    except ProtocolError as exc:
        detail = result.stderr.strip().splitlines()[-3:] if result.stderr.strip() else []
        extra = (
            f" (exit code {result.rc}; stderr: {' | '.join(detail)})"
            if detail
            else (f" (exit code {result.rc})")
        )
        raise ProtocolError(spec.name, script.name, exc.message + extra) from exc


def discover(transport: Transport, spec: HostSpec) -> HostFacts:
    """The host's facts and every VM's settings, read by the `discover` script."""
    script = render_script("discover", discover_params(spec.name))
    parsed = run_script(transport, spec, script, timeout_s=DISCOVER_TIMEOUT_S)
    fatal = parsed.script_errors
    if fatal:
        raise ProtocolError(spec.name, "discover", "; ".join(e.message for e in fatal))
    return host_facts(parsed, host=spec.name)
