"""Reading input files and writing output files safely.

Inputs (policies, inventories, fixtures, snapshots) are read only from
regular files and only up to `MAX_INPUT_BYTES`: `inventory: /dev/zero` or a
FIFO must give a clear error, not fill the memory or hang.

Outputs (`-o FILE` of audit, report, export, plan --save-snapshot, render)
are written so that no reader sees half a file, and never over something
that is not a regular file:

- a missing path or a regular file: written to a temporary file in the same
  directory, then renamed over the path (atomic). The directory must exist:
  hvdyn does not create missing parents of an output file.
- `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`, a FIFO, a
  terminal or the null device: written through, never replaced.
- a symbolic link, a directory, any other device or a socket: refused
  (`OutputPathError`, exit 3). A symlink is not followed: give the path of
  the file it points to. (Replacing it would turn a link into a plain file;
  following it as root is how a planted link overwrites a system file.)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hvdyn.core.errors import LocatedError, OutputPathError, clip

MAX_INPUT_BYTES = 16 * 1024 * 1024
_STREAM_PATH = re.compile(r"^/(?:dev/(stdout|stderr|fd/(\d+))|proc/self/fd/(\d+))$")
_NULL_DEVICE = (1, 3)  # Linux major/minor of /dev/null; terminals: see _writable_device


# ---------------------------------------------------------------- reading


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _shown(file: str) -> str:
    """A file name fit for a message: control characters escaped."""
    return file if file.isprintable() else repr(file)[1:-1]


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def input_problem(path: Path | str) -> str | None:
    """Why `path` cannot be read as an input file (None when it can), without raising.

    For loaders that check a referenced file early (a fixture named in an
    inventory) and report it at the referencing key.
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        return f"cannot read {clip(str(path))!r}: {_reason(exc)}"
    if not stat.S_ISREG(st.st_mode):
        return f"{clip(str(path))} is {_kind(st.st_mode)}, not a regular file"
    return None


def read_input(
    path: Path | str,
    error: type[LocatedError] = LocatedError,
    *,
    max_bytes: int = MAX_INPUT_BYTES,
) -> bytes:
    """The bytes of an input file, which must be a regular file of at most `max_bytes`.

    Problems raise `error(FILE, 0, 0, "", why)` (exit 3): about the whole file,
    so no line or column. Symbolic links are followed. The file is opened
    non-blocking, so a FIFO swapped in after the check cannot hang the read.
    """
    name = str(path)
    file = _shown(name)
    if not name:
        raise error("''", 0, 0, "", "empty file name")
    try:
        before = os.stat(name)
        if not stat.S_ISREG(before.st_mode):
            raise error(file, 0, 0, "", f"{_kind(before.st_mode)}, not a regular file: "
                        "hvdyn reads its inputs only from regular files")
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise error(file, 0, 0, "", f"cannot read: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(file, 0, 0, "", f"{_kind(st.st_mode)}, not a regular file")
        too_big = f"larger than the {max_bytes // (1024 * 1024)} MiB limit for input files"
        if st.st_size > max_bytes:
            raise error(file, 0, 0, "", f"{st.st_size} bytes: {too_big}")
        chunks: list[bytes] = []
        size = 0
        while True:  # st_size may be 0 (/proc) or stale (a growing file): count what comes
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise error(file, 0, 0, "", too_big)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise error(file, 0, 0, "", f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


# ---------------------------------------------------------------- writing


@dataclass(frozen=True, slots=True)
class OutputTarget:
    """Where an output goes: replaced atomically, or written through an open descriptor."""

    path: Path
    replace: bool  # regular file or missing path: temp file + rename
    fd: int | None = None  # /dev/stdout-style: this process's own descriptor


def check_output(path: Path) -> OutputTarget:
    """Decide how `path` is written, or raise `OutputPathError` (exit 3).

    Commands call this before they contact any host, so a bad `-o` fails fast.
    """
    text = os.fspath(path)
    if not text:
        raise OutputPathError("empty output path")
    stream = _STREAM_PATH.match(text)
    if stream:
        name, fd_a, fd_b = stream.groups()
        fd = {"stdout": 1, "stderr": 2}.get(name or "")
        fd = fd if fd is not None else int(fd_a or fd_b)
        try:
            os.fstat(fd)
        except OSError:
            raise OutputPathError(f"{text}: descriptor {fd} is not open") from None
        return OutputTarget(path, replace=False, fd=fd)
    if "\0" in text:
        raise OutputPathError(f"{_shown(text)}: a NUL character in the path")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        parent = path.parent
        if not parent.is_dir():
            raise OutputPathError(
                f"{text}: directory {parent} does not exist (hvdyn does not create the "
                "directories of an output file)"
            ) from None
        return OutputTarget(path, replace=True)
    except OSError as exc:
        raise OutputPathError(f"{text}: {exc.strerror or exc}") from None
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return OutputTarget(path, replace=True)
    if stat.S_ISFIFO(mode):
        return OutputTarget(path, replace=False)
    if stat.S_ISCHR(mode) and _writable_device(st):
        return OutputTarget(path, replace=False)
    if stat.S_ISLNK(mode):
        target = os.readlink(path)
        raise OutputPathError(
            f"{text} is a symbolic link (to {target}): hvdyn does not follow or replace links "
            "for output; give the path of the file itself"
        )
    if stat.S_ISDIR(mode):
        raise OutputPathError(f"{text} is a directory: give a file name")
    raise OutputPathError(
        f"{text} is {_kind(mode)}: hvdyn writes only regular files, FIFOs, terminals, "
        "/dev/null and /dev/stdout-style paths"
    )


def _writable_device(st: os.stat_result) -> bool:
    """The null device or a terminal, told apart by device number, never by opening it.

    Opening some devices acts (a watchdog arms, a tape rewinds): hvdyn opens
    only the devices it will write to.
    """
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    if (major, minor) == _NULL_DEVICE:
        return True
    if major == 5:  # /dev/tty, /dev/console (not /dev/ptmx, which makes a terminal)
        return minor in (0, 1)
    return major == 4 or 136 <= major <= 143  # virtual consoles, serial lines, pseudo-terminals


def write_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write `text` (UTF-8) to `path` as `check_output` decides; errors exit 3.

    The temporary file starts as 0600, so its mode is set explicitly: a new
    file gets `mode` less the umask (reports are read by other accounts, a web
    server or node_exporter, unless the user's umask says otherwise); a file
    that is replaced keeps its own mode (a report or export the user made
    private stays private).
    """
    target = check_output(path)
    data = text.encode("utf-8")
    try:
        if target.fd is not None:
            _write_all(target.fd, data)
        elif not target.replace:
            _write_through(path, data)
        else:
            _replace(path, data, mode)
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_through(path: Path, data: bytes) -> None:
    """FIFO, terminal, /dev/null: open without creating or following, then write."""
    flags = os.O_WRONLY | os.O_NOCTTY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads; a blocking open would hang
            raise OutputPathError(f"{path}: a FIFO with no reader") from None
        raise
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        kind = os.fstat(fd).st_mode
        if not (stat.S_ISFIFO(kind) or stat.S_ISCHR(kind)):
            raise OutputPathError(f"{path}: changed while being opened; not written")
        _write_all(fd, data)
    finally:
        os.close(fd)


def _umask() -> int:
    """This process's umask, read without changing it where Linux shows it."""
    with (contextlib.suppress(OSError, ValueError),
          open("/proc/self/status", encoding="ascii", errors="replace") as status):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0o022)
    os.umask(current)
    return current


def _replace(path: Path, data: bytes, mode: int) -> None:
    parent = path.parent
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode)  # replaced: keep its permissions
    except OSError:
        mode &= ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputPathError(
            f"{path}: cannot create a file in {parent}: {exc.strerror or exc}"
        ) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not check_output(path).replace:  # swapped for a device or FIFO meanwhile
            raise OutputPathError(f"{path}: changed while being written; not replaced")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
