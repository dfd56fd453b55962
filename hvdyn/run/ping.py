"""`hvdyn ping`: can hvdyn reach, authenticate to and run a script on each host?

Per host: PowerShell version, host OS, whether WMI ``root\\virtualization``
answers, which script delivery works, and the negotiated security (the
authentication that succeeded, message encryption or TLS and its version,
the Kerberos SPN), or the failure with a hint. For
winrm without an explicit ``hvdyn_script_delivery``, stdin delivery is tried
first and file delivery second (stdin under PowerShell 2.0 is unconfirmed
on real hosts); the result says which one worked. Read-only.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from hvdyn.core.errors import HvdynError, ProtocolError, TransportError
from hvdyn.core.model import HostSpec, Script, ScriptResult
from hvdyn.powershell.record_parser import parse_stream
from hvdyn.powershell.records import PingRecord
from hvdyn.transport import Transport, TransportContext, transport_class

PING_SCRIPT = "ping"
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PingResult:
    host: str
    transport: str
    ok: bool
    ps_version: str | None = None
    os: str | None = None
    virtualization: bool | None = None
    delivery: str | None = None
    error: str | None = None  # what failed, without the host prefix
    error_kind: str | None = None  # ConnectError, AuthError, TlsError, ...
    hint: str | None = None
    notes: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    requests: int = 0
    auth: str | None = None  # the mechanism that succeeded (Negotiate may settle on ntlm)
    message_encryption: bool | None = None  # bodies sealed with the auth's session keys
    tls_version: str | None = None  # https only, e.g. "TLSv1.2"
    spn: str | None = None  # kerberos only
    security: str | None = None  # the four above in words

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["notes"] = list(self.notes)
        return data


def render_ping(spec: HostSpec, delivery: str) -> Script:
    """The ping script, rendered like every other script."""
    from hvdyn.powershell.templates import render_script

    return render_script(PING_SCRIPT, {"host": spec.name, "delivery": delivery})


def _deliveries(spec: HostSpec) -> list[str]:
    if spec.transport in ("psrp", "mock"):
        return [spec.transport]
    configured = spec.vars.get("hvdyn_script_delivery")
    return [str(configured)] if configured else ["stdin", "file"]


def _with_delivery(spec: HostSpec, delivery: str) -> HostSpec:
    if spec.transport != "winrm":
        return spec
    return dataclasses.replace(spec, vars={**spec.vars, "hvdyn_script_delivery": delivery})


def _failure(spec: HostSpec, exc: HvdynError, started: float, requests: int,
             notes: list[str]) -> PingResult:
    hint = exc.hint if isinstance(exc, TransportError) else None
    message = exc.message if isinstance(exc, TransportError) else str(exc)
    return PingResult(
        host=spec.name, transport=spec.transport, ok=False, error=message,
        error_kind=type(exc).__name__, hint=hint, notes=tuple(notes),
        elapsed_s=round(time.monotonic() - started, 3), requests=requests,
    )


def _security(transport: Transport) -> dict[str, Any]:
    """What the transport says about the connection it just used (real transports only)."""
    report = getattr(transport, "security", None)
    if not callable(report):
        return {}
    found = report()
    return {"auth": found.auth, "message_encryption": found.message_encryption,
            "tls_version": found.tls_version, "spn": found.spn, "security": found.describe()}


def ping_host(
    spec: HostSpec, context: TransportContext, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> PingResult:
    """Connect, authenticate and run the ping script; never raises HvdynError."""
    started = time.monotonic()
    requests = 0
    notes: list[str] = []
    last: HvdynError | None = None
    for delivery in _deliveries(spec):
        transport: Transport | None = None
        result: ScriptResult | None = None
        try:
            transport = transport_class(spec.transport)(_with_delivery(spec, delivery), context)
            result = transport.run(render_ping(spec, delivery), timeout_s=timeout_s)
            requests += result.requests
            parsed = parse_stream(result.stdout, host=spec.name, script=PING_SCRIPT)
            records = parsed.of_type(PingRecord)
            if not records:
                raise ProtocolError(spec.name, PING_SCRIPT, "no ping record")
            rec = records[0]
            if rec.delivery != delivery:
                raise ProtocolError(spec.name, PING_SCRIPT, f"delivery echoed as {rec.delivery!r}")
            if delivery == "file" and len(_deliveries(spec)) > 1:
                notes.append("stdin delivery failed; set hvdyn_script_delivery: file")
            return PingResult(
                host=spec.name, transport=spec.transport, ok=True,
                ps_version=rec.ps_version or parsed.ps_version, os=rec.os,
                virtualization=rec.virtualization, delivery=delivery, notes=tuple(notes),
                elapsed_s=round(time.monotonic() - started, 3), requests=requests,
                **_security(transport),
            )
        except TransportError as exc:
            return _failure(spec, exc, started, requests, notes)  # another mode will not help
        except HvdynError as exc:
            last = exc
            detail = ""
            if result is not None:
                detail = f" (rc {result.rc}; stderr: {result.stderr.strip()[:300]!r})"
            notes.append(f"{delivery} delivery failed: {exc}{detail}")
        finally:
            if transport is not None:
                transport.close()
    assert last is not None
    return _failure(spec, last, started, requests, notes)
