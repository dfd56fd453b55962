"""The mock transport: runs `Script.name` + `Script.params` on `hvdyn.sim`.

It never reads `Script.text`. The state of each simulated host lives in
the state dir, so consecutive commands see each other's changes, and the
output is the same HVDYN1 record stream a real host prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from hvdyn.core.errors import AuthError, ConnectError, InputError, TransportTimeout
from hvdyn.core.model import HostSpec, Script, ScriptResult
from hvdyn.powershell import records as protocol
from hvdyn.sim import run_script, session, wmi
from hvdyn.sim.apply import StreamDropped
from hvdyn.transport import TransportContext

_CONNECT_ERRORS = {
    "unreachable": (ConnectError, "connection refused (simulated)", "is WinRM listening?"),
    "auth": (AuthError, "the host rejected the credentials (simulated)", None),
    "timeout": (TransportTimeout, "no answer before the deadline (simulated)", None),
}


class MockTransport:
    """One simulated host, addressed through its inventory `HostSpec`."""

    def __init__(self, spec: HostSpec, context: TransportContext) -> None:
        if not spec.mock_fixture:
            raise InputError(
                f"{spec.name}: hvdyn_transport is mock but no hvdyn_mock_fixture is set"
            )
        self.spec = spec
        self.context = context
        self.fixture = spec.mock_fixture

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        """Execute the script on the simulated host and return its record stream.

        Simulated time the script spends waiting counts against `timeout_s`,
        as it would on a real host; state changes made before the deadline
        are kept.
        """
        connect_error: str | None = None
        dropped: list[Mapping[str, Any]] | None = None
        with session(self.context.state_dir, self.spec.name, self.fixture) as state:
            fault = wmi.take_fault(state, "connect")
            if fault is not None:
                connect_error = fault.error or "unreachable"
            else:
                started = state.clock_s
                try:
                    records: list[Mapping[str, Any]] = list(
                        run_script(state, script.name, dict(script.params))
                    )
                except StreamDropped as exc:
                    dropped = list(exc.records)
                elapsed = state.clock_s - started
        if connect_error is not None:
            cls, message, hint = _CONNECT_ERRORS[connect_error]
            raise cls(self.spec.name, message, hint)
        if dropped is not None:
            # What a real transport received before the shell died: no `end` record.
            text = protocol.encode_stream(script.name, dropped)
            raise ConnectError(
                self.spec.name, "the connection dropped mid-script (simulated)",
                "the host may have applied part of the script; rerun to converge",
                partial_stdout=text[: text.rfind("HVDYN1 ")],
            )
        if elapsed > timeout_s:
            raise TransportTimeout(
                self.spec.name,
                f"script {script.name!r} ran {elapsed} s (simulated),"
                f" past the {timeout_s:g} s limit",
            )
        if self.context.latency_s > 0:
            time.sleep(self.context.latency_s)
        return ScriptResult(rc=0, stdout=protocol.encode_stream(script.name, records), requests=1)

    def close(self) -> None:
        """Nothing to release: state is saved after every script."""
