"""WinRM transport on pywinrm's low-level `Protocol` (docs/transports.md).

One WinRS shell per transport instance (one per host per worker thread),
opened with code page 65001 and reused for every script. A script runs as
``powershell.exe ... -EncodedCommand <bootstrap>`` and arrives on stdin as
base64 text in Send chunks that fit the host's envelope (150 KB on WinRM
2.0); `Session.run_ps` is never used (cmd.exe's 8191-character line caps it
near 3 KB). Host var ``hvdyn_script_delivery: file`` uploads to a temp file
with short cmd.exe commands instead, then runs ``powershell -File``.

A Send that times out may still have been accepted, so no chunk is ever
sent twice. The data goes in Sends without End, then one empty Send with
End=true: the bootstrap runs only once it has the end of input, so a
timeout on a data Send means the script has not started, and it is run
again from the start in a new shell. A timeout on the End Send is not
repeated: the script may be running, so its output is awaited as usual.

The script's stdout is kept chunk by chunk as Receives return it: when the
connection fails or the deadline passes mid-script, what had arrived goes
out with the error (`TransportError.partial_stdout`).

This module is imported only when a real host is contacted, so pywinrm and
requests load here, never from ``hvdyn.transport``.
"""

from __future__ import annotations

import base64
import logging
import math
import time
import uuid
from typing import Any

from winrm.exceptions import WinRMOperationTimeoutError, WSManFaultError
from winrm.protocol import Protocol

from hvdyn.core.errors import CredentialError, TransportError, TransportTimeout
from hvdyn.core.model import HostSpec, Script, ScriptResult
from hvdyn.transport import TransportContext
from hvdyn.transport._assets import FILE_DECODER, STDIN_BOOTSTRAP, encoded_command
from hvdyn.transport._auth import (
    Security,
    SessionObserver,
    first_reachable,
    pywinrm_kerberos_auth,
    require_kerberos,
)
from hvdyn.transport._clixml import clixml_errors
from hvdyn.transport._errors import ERROR_BUSY, classify, is_shell_gone
from hvdyn.transport._options import ConnOptions, parse_options, password_for
from hvdyn.transport._tls import prepare_session, warn_legacy

log = logging.getLogger(__name__)

POWERSHELL = "powershell.exe"
PS_ARGS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass")
SOAP_OVERHEAD = 4096  # bytes of envelope around a Send's base64 payload (measured ~1.3 KB)
CMD_LINE_CHUNK = 7000  # base64 chars per `echo` in file mode (cmd.exe line limit 8191)
SHELL_RETRIES = 2  # new shells per script after quota / shell-gone faults / data Send timeouts
SEND_RETRIES = 3  # busy (ERROR_BUSY) answers to one Send; a timeout is never retried


class _NotStarted(Exception):
    """A shell fault hit before the script could run: safe to re-run in a new shell."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def stdin_chunk_bytes(max_envelope_bytes: int) -> int:
    """Raw stdin bytes per Send: pywinrm base64-encodes them inside the envelope."""
    return ((max_envelope_bytes - SOAP_OVERHEAD) // 4) * 3


def script_payload(text: str) -> bytes:
    """What the bootstrap reads from stdin: base64 of the script's UTF-8 bytes, ASCII."""
    return base64.b64encode(text.encode("utf-8")) + b"\r\n"


def decode_stdout(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


class WinrmTransport:
    """Runs scripts on one host over WinRS; built as ``WinrmTransport(spec, context)``."""

    def __init__(self, spec: HostSpec, context: TransportContext) -> None:
        self.spec = spec
        self.opts: ConnOptions = parse_options(spec)
        self._context = context
        self._counter = SessionObserver()
        self._proto: Any = None
        self._shell: str | None = None
        self.commands_in_shell = 0
        self.shells_opened = 0

    # ------------------------------------------------------------ connection

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far by this transport (auth legs included)."""
        return self._counter.count

    def security(self) -> Security:
        """The authentication that succeeded and how messages are protected."""
        return self._counter.security(self.opts)

    def _password(self) -> str | None:
        try:
            return password_for(self.opts, self._context.password_for(self.spec))
        except CredentialError as exc:  # nothing listening is the first problem to report
            raise first_reachable(self.opts, exc) from None

    def _protocol(self) -> Any:
        if self._proto is not None:
            return self._proto
        opts = self.opts
        if opts.legacy_tls:
            warn_legacy(opts)
        if opts.auth == "kerberos":
            require_kerberos(opts)
        password = self._password()
        validate = opts.cert_validation == "validate"
        encryption: Any = "auto" if opts.scheme == "https" or opts.encrypt else "never"
        proto = Protocol(
            endpoint=opts.endpoint,
            transport=opts.auth,  # type: ignore[arg-type]
            username=opts.user,
            password=password,
            ca_trust_path=(opts.ca_bundle if validate and opts.ca_bundle else None),  # type: ignore[arg-type]
            cert_pem=opts.cert_pem,
            cert_key_pem=opts.cert_key_pem,
            server_cert_validation=opts.cert_validation,  # type: ignore[arg-type]
            read_timeout_sec=opts.read_timeout_s,
            operation_timeout_sec=opts.operation_timeout_s,
            message_encryption=encryption,
            credssp_disable_tlsv1_2=opts.credssp_disable_tlsv1_2,
            kerberos_hostname_override=opts.kerberos_hostname,
            service=opts.kerberos_service,
            proxy=None,
        )
        proto.max_env_sz = opts.max_envelope_bytes
        transport = proto.transport
        build = transport.build_session
        counter = self._counter

        def build_session() -> Any:
            # pywinrm drops its session on close_shell: prepare every new one.
            if opts.auth != "kerberos" or transport.session is not None:
                session = build()
                prepare_session(session, opts, counter)
                counter.session = session
                return session
            # Kerberos through pyspnego (see _auth): pywinrm builds the session
            # (proxies, certificate checks, headers) without auth, then ours goes on.
            transport.auth_method, transport.message_encryption = "plaintext", "never"
            try:
                session = build()
            finally:
                transport.auth_method, transport.message_encryption = "kerberos", encryption
            session.auth = pywinrm_kerberos_auth(opts, password)
            prepare_session(session, opts, counter)
            counter.session = session
            if encryption == "auto" and opts.scheme == "http":
                transport.setup_encryption(session)
            return session

        transport.build_session = build_session  # type: ignore[method-assign]
        setup_encryption = transport.setup_encryption

        def setup_then_encrypt(session: Any) -> None:
            # build_session sends the first (auth) request from here: observe it too.
            prepare_session(session, opts, counter)
            counter.session = session
            setup_encryption(session)

        transport.setup_encryption = setup_then_encrypt  # type: ignore[method-assign]
        self._proto = proto
        return proto

    def _open_shell(self) -> str:
        if self._shell is None:
            self._shell = self._protocol().open_shell(codepage=65001, noprofile=True)
            self.commands_in_shell = 0
            self.shells_opened += 1
        return self._shell

    def _drop_shell(self) -> None:
        """Forget the shell (the host lost it or refused it); best-effort Delete."""
        shell, self._shell = self._shell, None
        if shell is None or self._proto is None:
            return
        try:
            self._proto.close_shell(shell, close_session=True)
        except Exception as exc:  # the shell is usually gone already
            log.debug("%s: deleting shell %s failed: %s", self.opts.host, shell, exc)

    def close(self) -> None:
        self._drop_shell()
        self._proto = None

    # ------------------------------------------------------------ commands

    def _op_timeout(self, deadline: float) -> None:
        remaining = math.ceil(deadline - time.monotonic())
        self._proto.operation_timeout_sec = max(1, min(self.opts.operation_timeout_s, remaining))

    def _send(self, shell: str, cid: str, chunk: bytes, end: bool, deadline: float) -> None:
        """One Send. Busy faults are retried (nothing was taken); a timeout never is.

        A timed-out data Send (end False) raises _NotStarted: the script has
        not started and runs again in a new shell. A timed-out End Send
        returns: the host may have taken it, and the output will tell.
        """
        for _attempt in range(1, SEND_RETRIES + 1):
            self._op_timeout(deadline)
            try:
                self._proto.send_command_input(shell, cid, chunk, end=end)
                return
            except WinRMOperationTimeoutError as exc:
                if not end:
                    log.warning("%s: Send timed out; running the script again in a new shell",
                                self.opts.host)
                    raise _NotStarted(exc) from exc
                log.warning("%s: the end-of-input Send timed out; waiting for the output",
                            self.opts.host)
                return
            except WSManFaultError as exc:
                if exc.wsman_fault_code != ERROR_BUSY:
                    raise
                time.sleep(1.0)
            if time.monotonic() >= deadline:
                break
        raise TransportTimeout(
            self.opts.host, f"sending the script failed after {SEND_RETRIES} attempts",
            "the host's WinRM service is busy; retry later or lower --forks",
        )

    def _collect(
        self, shell: str, cid: str, deadline: float, what: str, out: list[bytes]
    ) -> tuple[int, bytes, bytes]:
        """Receive until the command is done; stdout chunks go to `out` as they arrive."""
        err: list[bytes] = []
        while True:
            if time.monotonic() >= deadline:  # _command's finally sends Signal terminate
                raise TransportTimeout(
                    self.opts.host,
                    f"{what} did not finish before its deadline; the command was terminated",
                    "raise the timeout for this script or check the host's load",
                )
            self._op_timeout(deadline)
            try:
                stdout, stderr, rc, done = self._proto.get_command_output_raw(shell, cid)
            except WinRMOperationTimeoutError:
                continue  # the host held the Receive for OperationTimeout: ask again
            out.append(stdout)
            err.append(stderr)
            if done:
                return int(rc), b"".join(out), b"".join(err)

    def _terminate(self, shell: str, cid: str) -> None:
        try:
            self._proto.operation_timeout_sec = self.opts.operation_timeout_s
            self._proto.cleanup_command(shell, cid)
        except Exception as exc:  # HTTP 400 after a timeout is a known WinRS quirk
            log.debug("%s: Signal terminate failed: %s", self.opts.host, exc)

    def _command(
        self,
        command: str,
        args: tuple[str, ...],
        stdin: bytes | None,
        deadline: float,
        what: str,
        received: list[bytes] | None = None,
    ) -> tuple[int, bytes, bytes]:
        """Run one command in the shell: Command, Send(s), Receive(s), Signal.

        `received` collects the command's stdout as it arrives (kept if it fails).
        """
        shell = self._open_shell()
        try:
            self._op_timeout(deadline)
            cid = self._proto.run_command(
                shell, command, list(args), console_mode_stdin=stdin is None, skip_cmd_shell=False
            )
            self.commands_in_shell += 1
            if stdin is not None:
                size = stdin_chunk_bytes(self.opts.max_envelope_bytes)
                for start in range(0, len(stdin), size):
                    self._send(shell, cid, stdin[start : start + size], False, deadline)
                self._send(shell, cid, b"", True, deadline)
        except WSManFaultError as exc:
            # Quota / shell-gone faults come on Command or Send: the script has not run.
            if is_shell_gone(exc):
                raise _NotStarted(exc) from exc
            raise
        try:
            return self._collect(shell, cid, deadline, what, [] if received is None else received)
        finally:
            self._terminate(shell, cid)

    # ------------------------------------------------------------ scripts

    def _run_stdin(
        self, script: Script, deadline: float, received: list[bytes]
    ) -> tuple[int, bytes, bytes]:
        args = (*PS_ARGS, "-EncodedCommand", encoded_command(STDIN_BOOTSTRAP))
        return self._command(
            POWERSHELL, args, script_payload(script.text), deadline, f"script {script.name!r}",
            received,
        )

    def _run_file(
        self, script: Script, deadline: float, received: list[bytes]
    ) -> tuple[int, bytes, bytes]:
        # cmd.exe does the file work: mkdir/echo/rmdir, no PowerShell text here.
        folder = f'"%TEMP%\\hvdyn-{uuid.uuid4().hex[:16]}"'
        target = folder[:-1] + '\\script.b64"'
        b64 = base64.b64encode(script.text.encode("utf-8")).decode("ascii")
        chunks = [b64[i : i + CMD_LINE_CHUNK] for i in range(0, len(b64), CMD_LINE_CHUNK)] or [""]
        try:
            for index, chunk in enumerate(chunks):
                # Parenthesised: text ending in a digit before >> would be read as a handle
                # number (`echo ...2>>f` redirects stderr, not the text).
                line = f"(echo {chunk})>>{target}"
                if index == 0:
                    line = f"mkdir {folder} && {line}"
                rc, _out, err = self._command(line, (), None, deadline, "upload")
                if rc != 0:
                    raise TransportError(
                        self.opts.host,
                        f"writing the script file failed (rc {rc}): {decode_stdout(err).strip()}",
                        "check that %TEMP% is writable for the account",
                    )
            run = (
                f"cd /d {folder} && {POWERSHELL} {' '.join(PS_ARGS)} -EncodedCommand "
                f"{encoded_command(FILE_DECODER)} && {POWERSHELL} {' '.join(PS_ARGS)} "
                "-File script.ps1"
            )
            return self._command(run, (), b"", deadline, f"script {script.name!r}", received)
        finally:
            if self._shell is not None:
                try:
                    cleanup_deadline = time.monotonic() + self.opts.operation_timeout_s
                    self._command(f"rmdir /s /q {folder}", (), None, cleanup_deadline, "cleanup")
                except Exception as exc:
                    log.warning("%s: removing %s failed: %s", self.opts.host, folder, exc)

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        """Run `script`; rc/stdout/stderr come back as data, failures as TransportError."""
        deadline = time.monotonic() + timeout_s
        before = self._counter.count
        runner = self._run_file if self.opts.delivery == "file" else self._run_stdin
        received: list[bytes] = []  # the script's stdout chunks so far
        try:
            attempt = 0
            while True:
                try:
                    rc, out, err = runner(script, deadline, received)
                    break
                except _NotStarted as exc:
                    attempt += 1
                    log.info("%s: %s; new shell (attempt %d)", self.opts.host, exc, attempt)
                    self._drop_shell()
                    received.clear()  # nothing ran: the next attempt starts from nothing
                    if attempt > SHELL_RETRIES:
                        raise exc.cause from exc
        except TransportError as exc:
            exc.partial_stdout = exc.partial_stdout or decode_stdout(b"".join(received))
            raise
        except Exception as exc:
            self._drop_shell()
            cause = exc.cause if isinstance(exc, _NotStarted) else exc
            error = classify(self.opts, cause, offered=self._counter.offered)
            error.partial_stdout = decode_stdout(b"".join(received))
            raise error from exc
        return ScriptResult(
            rc=rc,
            stdout=decode_stdout(out),
            stderr=clixml_errors(decode_stdout(err)),
            requests=self._counter.count - before,
        )
