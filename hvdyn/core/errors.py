"""The hvdyn error tree.

Every error a user can cause or act on is an `HvdynError`; its message is shown
verbatim (no traceback) and its `exit_code` becomes the process exit code.
This module imports nothing from hvdyn so every layer can use it.
"""

from __future__ import annotations

from collections.abc import Sequence

# Exit codes: a contract with scripts and schedulers (README: Exit codes).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PENDING = 2
EXIT_INVALID = 3


def clip(text: str, limit: int = 200) -> str:
    """`text` cut in the middle to at most about `limit` characters, saying how much went.

    Error messages quote what the user wrote; a 100,000-character value must
    not become a 100,000-character line.
    """
    if len(text) <= limit:
        return text
    keep = max(limit // 2 - 10, 1)
    return f"{text[:keep]}...[{len(text) - 2 * keep} characters cut]...{text[-keep:]}"


def without_host(host: str, message: str) -> str:
    """`message` without a leading "host: " (transport errors name their host already)."""
    return message.removeprefix(f"{host}: ")


MAX_ERROR_LINES = 50


def error_text(exc: BaseException) -> str:
    """An error as hvdyn prints it: each line clipped, at most MAX_ERROR_LINES lines."""
    lines = [clip(line, 1000) for line in str(exc).splitlines()] or [type(exc).__name__]
    if len(lines) > MAX_ERROR_LINES:
        more = len(lines) - MAX_ERROR_LINES
        lines = [*lines[:MAX_ERROR_LINES], f"... and {more} more"]
    return "\n".join(lines)


class HvdynError(Exception):
    """Base of all errors hvdyn reports to users."""

    exit_code = EXIT_FAILED


class InputError(HvdynError):
    """Invalid input: policy, inventory, fixture or command-line arguments."""

    exit_code = EXIT_INVALID


class OutputPathError(InputError):
    """An output path (-o) hvdyn will not or cannot write (see `hvdyn.core.fileio`)."""


class LocatedError(InputError):
    """An input error that points at FILE:LINE:COL and a key path.

    Rendered as ``FILE:LINE:COL: key.path: message (allowed: ...)``; line 0
    means the whole file (it could not be read): ``FILE: message``.
    """

    def __init__(
        self,
        file: str,
        line: int,
        col: int,
        key: str,
        message: str,
        allowed: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.col = col
        self.key = key
        self.message = message
        self.allowed = allowed
        if line <= 0:  # about the whole file (cannot read it): no position to point at
            where = f"{clip(file)}: {clip(key, 120)}: " if key else f"{clip(file)}: "
        else:
            where = f"{clip(file)}:{line}:{col}: {clip(key or '<root>', 120)}: "
        text = where + clip(message, 400)
        if allowed:
            text += f" (allowed: {clip(allowed, 400)})"
        super().__init__(text)


class PolicyError(LocatedError):
    """A policy file is invalid."""


class InventoryError(LocatedError):
    """An inventory file is invalid."""


class FixtureError(LocatedError):
    """A simulated-host fixture is invalid."""


class MultipleInputErrors(InputError):
    """Several located errors found in one file; all are reported at once."""

    def __init__(self, errors: list[LocatedError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def raise_located(errors: Sequence[LocatedError], *, sort: bool = True) -> None:
    """Raise nothing, the one error, or all of them at once (`MultipleInputErrors`).

    Sorted by file, line and column (a stable sort), so a file's mistakes read
    top to bottom; `sort=False` keeps the caller's order when it means something.
    """
    ordered = sorted(errors, key=lambda e: (e.file, e.line, e.col)) if sort else list(errors)
    if len(ordered) == 1:
        raise ordered[0]
    if ordered:
        raise MultipleInputErrors(ordered)


class RenderError(HvdynError):
    """A template could not be rendered safely (a bug, never user input)."""


class TransportError(HvdynError):
    """A host could not be reached or did not answer; `hint` says what to do.

    `partial_stdout` is what the script printed before the failure, as far
    as the transport received it ("" when nothing or unknown): the apply
    stage keeps the records of VMs finished before a connection dropped.
    """

    def __init__(
        self, host: str, message: str, hint: str | None = None, *, partial_stdout: str = ""
    ) -> None:
        self.host = host
        self.message = message
        self.hint = hint
        self.partial_stdout = partial_stdout
        text = f"{host}: {message}"
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)


class ConnectError(TransportError):
    """TCP connect refused, DNS failure, or no route."""


class AuthError(TransportError):
    """The host rejected the credentials."""


class TlsError(TransportError):
    """The TLS handshake failed."""


class TransportTimeout(TransportError):
    """The script did not finish before its deadline."""


class WsmanFault(TransportError):
    """The WS-Management service answered with a fault."""


class CredentialError(TransportError):
    """No usable credential for a host."""


class ProtocolError(HvdynError):
    """A script's output did not follow the HVDYN1 record protocol."""

    def __init__(self, host: str, script: str, message: str) -> None:
        self.host = host
        self.script = script
        self.message = message
        super().__init__(f"{host}: script {script!r}: {message}")


class StoreError(HvdynError):
    """The local state store could not be read or written."""
