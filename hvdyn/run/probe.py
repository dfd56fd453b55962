"""`hvdyn probe`: read-only answers, per host, to what only a real host can tell.

hvdyn's templates were checked against PowerShell 2.0, WinRM 2.0 and WMI v1
documentation, and run against a simulator and a fake WS-Management
endpoint, never on a real 2008 R2 SP1 host. The probe asks a host the
questions those could not settle: does stdin delivery (``$input`` under
``-EncodedCommand`` through WinRS) work, does file delivery work, does
the exit code come back, what Caption/Description do its VMs carry and in
which locale, do the Dynamic Memory counter classes answer and with which
instance names, is ``root\\MSCluster`` reachable with packet privacy, and
which PowerShell/WinRM versions and quotas it has. It only reads.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from hvdyn.core.errors import HvdynError, ProtocolError, TransportError
from hvdyn.core.model import HostSpec, Script
from hvdyn.core.vocab import ProbeStatus
from hvdyn.powershell.record_parser import parse_stream
from hvdyn.powershell.records import ProbeRecord
from hvdyn.transport import Transport, TransportContext, transport_class

PROBE_SCRIPT = "probe"
PROBE_EXIT_CODE = 3  # non-zero and unusual: seeing it proves exit codes come back
DEFAULT_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeCheck:
    check: str
    status: ProbeStatus
    value: str | None
    data: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeResult:
    host: str
    transport: str
    ok: bool  # the probe script ran and reported (checks may still say no/error)
    checks: tuple[ProbeCheck, ...] = ()
    deliveries: dict[str, str] = field(default_factory=dict)  # mode -> "ok" or the failure
    error: str | None = None
    error_kind: str | None = None
    hint: str | None = None
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["checks"] = [dataclasses.asdict(c) for c in self.checks]
        return data


def render_probe(spec: HostSpec, delivery: str) -> Script:
    from hvdyn.powershell.templates import render_script

    return render_script(
        PROBE_SCRIPT, {"host": spec.name, "delivery": delivery, "exit_code": PROBE_EXIT_CODE}
    )


def _deliveries(spec: HostSpec) -> list[str]:
    """winrm: both modes, whatever the inventory says (the probe reports each)."""
    return ["stdin", "file"] if spec.transport == "winrm" else [spec.transport]


def _with_delivery(spec: HostSpec, delivery: str) -> HostSpec:
    if spec.transport != "winrm":
        return spec
    return dataclasses.replace(spec, vars={**spec.vars, "hvdyn_script_delivery": delivery})


def _run_once(
    spec: HostSpec, context: TransportContext, delivery: str, timeout_s: float
) -> tuple[list[ProbeCheck], int]:
    transport: Transport | None = None
    try:
        transport = transport_class(spec.transport)(_with_delivery(spec, delivery), context)
        result = transport.run(render_probe(spec, delivery), timeout_s=timeout_s)
    finally:
        if transport is not None:
            transport.close()
    try:
        parsed = parse_stream(result.stdout, host=spec.name, script=PROBE_SCRIPT)
    except ProtocolError as exc:
        stderr = result.stderr.strip()[:300]
        raise ProtocolError(
            spec.name, PROBE_SCRIPT, f"{exc} (rc {result.rc}; stderr: {stderr!r})"
        ) from exc
    records = parsed.of_type(ProbeRecord)
    echoed = next((r.value for r in records if r.check == "delivery"), None)
    if echoed != delivery:
        raise ProtocolError(spec.name, PROBE_SCRIPT, f"delivery echoed as {echoed!r}")
    checks = [ProbeCheck(check=r.check, status=r.status, value=r.value, data=r.data)
              for r in records]
    return checks, result.rc


def _exit_code_check(spec: HostSpec, rc: int) -> ProbeCheck:
    if spec.transport == "mock":
        return ProbeCheck(check="exit_code", status=ProbeStatus.OK,
                          value="not checked: the simulated host has no process exit code")
    if rc == PROBE_EXIT_CODE:
        return ProbeCheck(check="exit_code", status=ProbeStatus.OK,
                          value=f"the script's exit {PROBE_EXIT_CODE} came back", data=rc)
    return ProbeCheck(check="exit_code", status=ProbeStatus.NO,
                      value=f"the script exited {PROBE_EXIT_CODE} but the transport saw {rc}",
                      data=rc)


def probe_host(
    spec: HostSpec, context: TransportContext, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> ProbeResult:
    """Run the probe script by every delivery mode the transport has; never raises HvdynError."""
    started = time.monotonic()
    deliveries: dict[str, str] = {}
    checks: list[ProbeCheck] = []
    first_error: HvdynError | None = None
    for delivery in _deliveries(spec):
        try:
            found, rc = _run_once(spec, context, delivery, timeout_s)
        except TransportError as exc:
            # Connection, authentication or TLS: another delivery mode will not help.
            return ProbeResult(
                host=spec.name, transport=spec.transport, ok=False, deliveries=deliveries,
                error=exc.message, error_kind=type(exc).__name__, hint=exc.hint,
                elapsed_s=round(time.monotonic() - started, 3),
            )
        except HvdynError as exc:
            deliveries[delivery] = f"failed: {exc}"
            first_error = first_error or exc
            continue
        deliveries[delivery] = "ok"
        if not checks:
            checks = [*found, _exit_code_check(spec, rc)]
    elapsed = round(time.monotonic() - started, 3)
    if not checks:
        assert first_error is not None
        return ProbeResult(
            host=spec.name, transport=spec.transport, ok=False, deliveries=deliveries,
            error=str(first_error), error_kind=type(first_error).__name__, elapsed_s=elapsed,
        )
    for mode, outcome in deliveries.items():
        checks.append(ProbeCheck(check=f"delivery_{mode}", status=ProbeStatus.OK if outcome == "ok"
                                 else ProbeStatus.NO, value=outcome))
    return ProbeResult(host=spec.name, transport=spec.transport, ok=True, checks=tuple(checks),
                       deliveries=deliveries, elapsed_s=elapsed)
