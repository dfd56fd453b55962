"""PSRP transport on pypsrp's RunspacePool (protocol 2.1 = PowerShell 2.0).

One WSMan connection and one RunspacePool per transport instance (one per
host per worker). No powershell.exe per script and no command line: the
script is fragmented into the envelope by pypsrp. PSRP has no process exit
code, so a `PSHost` records ``exit N`` (SetShouldExit). Output objects come
back as text lines (records are strings); host UI writes are kept too; the
error stream becomes readable messages. The pool is closed and re-opened
after any transport error or timeout (pypsrp#21) and after
``hvdyn_psrp_recycle_after`` invocations (pypsrp#148: WinRS command quota).

pypsrp appends each output object to ``PowerShell.output`` as its Receive
returns, so when the connection fails or the deadline passes mid-script,
the lines received so far go out with the error
(`TransportError.partial_stdout`).

Imported only when a real host is contacted.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from pypsrp.complex_objects import PSInvocationState
from pypsrp.host import PSHost, PSHostUserInterface
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from hvdyn.core.errors import CredentialError, TransportError, TransportTimeout
from hvdyn.core.model import HostSpec, Script, ScriptResult
from hvdyn.transport import TransportContext
from hvdyn.transport._auth import Security, SessionObserver, first_reachable, require_kerberos
from hvdyn.transport._errors import classify
from hvdyn.transport._options import ConnOptions, parse_options, password_for
from hvdyn.transport._tls import prepare_session, warn_legacy

log = logging.getLogger(__name__)


def format_error(error: Any) -> str:
    """One PowerShell error record as PowerShell prints it (message, position, id)."""
    parts = [str(error)]
    position = getattr(error, "invocation_position_message", None)
    if position:
        parts.append(str(position))
    fq_error = getattr(error, "fq_error", None)
    if fq_error:
        parts.append(f"    + FullyQualifiedErrorId : {fq_error}")
    return "\r\n".join(parts)


def output_text(objects: list[Any], ui_lines: list[str]) -> str:
    """Pipeline output as CRLF text lines, then anything written through the host UI."""
    lines = [str(obj) for obj in objects if obj is not None]
    text = "".join(line + "\r\n" for line in lines)
    return text + "".join(ui_lines)


class PsrpTransport:
    """Runs scripts on one host over PSRP; built as ``PsrpTransport(spec, context)``."""

    def __init__(self, spec: HostSpec, context: TransportContext) -> None:
        self.spec = spec
        self.opts: ConnOptions = parse_options(spec)
        self._context = context
        self._counter = SessionObserver()
        self._wsman: Any = None
        self._pool: Any = None
        self._host: Any = None
        self.invocations = 0
        self.pools_opened = 0

    @property
    def requests_sent(self) -> int:
        return self._counter.count

    def security(self) -> Security:
        """The authentication that succeeded and how messages are protected."""
        return self._counter.security(self.opts)

    def _password(self) -> str | None:
        try:
            return password_for(self.opts, self._context.password_for(self.spec))
        except CredentialError as exc:  # nothing listening is the first problem to report
            raise first_reachable(self.opts, exc) from None

    def _make_wsman(self) -> Any:
        opts = self.opts
        if opts.legacy_tls:
            warn_legacy(opts)
        if opts.auth == "kerberos":
            require_kerberos(opts)
        validation: bool | str = opts.cert_validation == "validate"
        if validation and opts.ca_bundle:
            validation = opts.ca_bundle
        wsman = WSMan(
            opts.address,
            port=opts.port,
            username=opts.user,
            password=self._password(),
            ssl=opts.scheme == "https",
            auth=opts.auth,
            cert_validation=validation,  # type: ignore[arg-type]  # a CA path is accepted
            encryption="auto" if opts.scheme == "https" or opts.encrypt else "never",
            operation_timeout=opts.operation_timeout_s,
            read_timeout=opts.read_timeout_s,
            connection_timeout=opts.read_timeout_s,
            max_envelope_size=opts.max_envelope_bytes,
            no_proxy=True,
            certificate_pem=opts.cert_pem,
            certificate_key_pem=opts.cert_key_pem,
            credssp_disable_tlsv1_2=opts.credssp_disable_tlsv1_2,
            negotiate_service=opts.kerberos_service,
            negotiate_hostname_override=opts.kerberos_hostname,
        )
        transport = wsman.transport
        build = transport._build_session
        counter = self._counter

        def build_session() -> Any:
            session = build()
            prepare_session(session, opts, counter)
            counter.session = session
            return session

        transport._build_session = build_session  # type: ignore[method-assign]
        return wsman

    def _open(self) -> Any:
        if self._pool is None:
            self._wsman = self._make_wsman()
            self._host = PSHost(None, None, False, "hvdyn", None, PSHostUserInterface(), "1.0")
            pool = RunspacePool(self._wsman, host=self._host)
            pool.open()
            self._pool = pool
            self.invocations = 0
            self.pools_opened += 1
        return self._pool

    def _recycle(self) -> None:
        pool, wsman = self._pool, self._wsman
        self._pool = self._wsman = None
        for closer in (getattr(pool, "close", None), getattr(wsman, "close", None)):
            if closer is None:
                continue
            try:
                closer()
            except Exception as exc:  # the pool may be broken already
                log.debug("%s: closing PSRP pool: %s", self.opts.host, exc)

    def close(self) -> None:
        self._recycle()

    def _invoke(self, script: Script, deadline: float, received: list[str]) -> ScriptResult:
        """Run the pipeline; if it fails midway, its output so far is left in `received`."""
        pool = self._open()
        host, ui = self._host, self._host.ui
        host.rc = None
        ui.stdout.clear()
        ui.stderr.clear()
        ps = PowerShell(pool)
        ps.add_script(script.text)
        ps.begin_invoke()
        try:
            while ps.state == PSInvocationState.RUNNING:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    try:
                        ps.stop()
                    finally:
                        self._recycle()
                    raise TransportTimeout(
                        self.opts.host,
                        f"script {script.name!r} did not finish before its deadline;"
                        " it was stopped",
                        "raise the timeout for this script or check the host's load",
                    )
                ps.poll_invoke(timeout=max(1, min(self.opts.operation_timeout_s,
                                                  math.ceil(remaining))))
        except BaseException:
            received.append(output_text(list(ps.output), list(ui.stdout)))
            raise
        self.invocations += 1
        errors = [format_error(e) for e in ps.streams.error]
        errors.extend(line.rstrip("\r\n") for line in ui.stderr)
        if ps.state == PSInvocationState.FAILED and not errors:
            errors.append("the pipeline failed")
        # pypsrp sets had_errors only for a Failed pipeline, not for error records
        failed = ps.had_errors or bool(ps.streams.error)
        rc = host.rc if host.rc is not None else (1 if failed else 0)
        stderr = "".join(e + "\r\n" for e in errors)
        return ScriptResult(rc=int(rc), stdout=output_text(list(ps.output), list(ui.stdout)),
                            stderr=stderr)

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        """Run `script` in the pool; failures to talk to the host raise TransportError."""
        deadline = time.monotonic() + timeout_s
        before = self._counter.count
        received: list[str] = []  # the output so far, when the pipeline fails midway
        try:
            result = self._invoke(script, deadline, received)
        except TransportError as exc:
            self._recycle()
            exc.partial_stdout = exc.partial_stdout or "".join(received)
            raise
        except Exception as exc:
            self._recycle()
            error = classify(self.opts, exc, offered=self._counter.offered)
            error.partial_stdout = "".join(received)
            raise error from exc
        if self.invocations >= self.opts.recycle_after:
            self._recycle()
        return ScriptResult(rc=result.rc, stdout=result.stdout, stderr=result.stderr,
                            requests=self._counter.count - before)
