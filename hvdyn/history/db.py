"""Opening the store: a private state dir, a complete file or none, one connection.

Why SQLite: one file, transactional, readable by admins with stock tools.
WAL mode plus short write transactions (``BEGIN IMMEDIATE`` .. ``COMMIT``,
``synchronous=FULL``) means a process killed mid-write loses only the
transaction in flight; every committed batch survives.

A new store is built under a temporary name and linked into place only when
its schema is complete, so a command never sees a half-made store and two
commands creating one at once both succeed (the loser opens the winner's).
A store file of 0 bytes is therefore never hvdyn's work in progress: its
history is gone, and opening it is refused rather than silently starting over.

The store holds the journal, user names, host and VM names: its directory is
kept 0700 and its files 0600; looser modes left by earlier versions are
tightened on open, with one warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from hvdyn.core.errors import StoreError
from hvdyn.history.schema import MIGRATIONS, migrate

log = logging.getLogger("hvdyn.history")

DB_NAME = "hvdyn.sqlite3"
_R = TypeVar("_R")


def columns_of(kind: type[Any]) -> list[str]:
    return [f.name for f in fields(kind)]


def _owned(st: os.stat_result) -> bool:
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def secure_state_dir(directory: Path) -> list[str]:
    """Create the dir 0700, or tighten an existing one we own; returns what was tightened.

    A shared directory (sticky bit, like /tmp) or one owned by someone else is
    left as it is: chmod there would break other users.
    """
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is cut by the umask only, never widened
        return []
    st = directory.stat()
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077 and _owned(st) and not mode & stat.S_ISVTX:
        os.chmod(directory, 0o700)
        return [f"{directory} {mode:o} -> 700"]
    return []


def secure_files(path: Path) -> list[str]:
    """Tighten the store file and its WAL/shm companions to 0600 (only files we own)."""
    done: list[str] = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            st = candidate.stat()
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISREG(st.st_mode) and mode & 0o077 and _owned(st):
            os.chmod(candidate, 0o600)
            done.append(f"{candidate.name} {mode:o} -> 600")
    return done


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                           timeout=30.0)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _create(path: Path, migrations: Sequence[str]) -> None:
    """Build a complete store beside `path` and link it into place (first one wins)."""
    temp = path.with_name(f".{path.name}.new-{os.getpid()}-{threading.get_ident()}")
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    try:
        conn = _connect(temp)
        try:
            migrate(conn, migrations)
        finally:
            conn.close()  # the last close checkpoints and removes the -wal file
        with contextlib.suppress(FileExistsError):  # another command created it first
            os.link(temp, path)
    finally:
        for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
            leftover.unlink(missing_ok=True)


class StoreBase:
    """The connection, its lock, and the transaction/query helpers the store's parts share."""

    def __init__(self, path: Path, migrations: Sequence[str] = MIGRATIONS) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            tightened = secure_state_dir(path.parent)
            if not path.exists():
                _create(path, migrations)
            elif path.stat().st_size == 0:
                raise StoreError(
                    f"store {path} is an empty file (0 bytes): the history it held is gone. "
                    "hvdyn does not start over silently; move the file aside (or delete it) "
                    "and rerun to create a new store")
            tightened += secure_files(path)
            conn = _connect(path)
            self.schema_version = migrate(conn, migrations)
        except sqlite3.Error as exc:
            raise StoreError(f"store {path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"store {path}: {exc.strerror or exc}") from None
        if tightened:
            log.warning("hvdyn: the state dir holds the journal and host/VM names; tightened "
                        "permissions: %s", ", ".join(tightened))
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One short write transaction; committed on exit, rolled back on error.

        `durable=False` (collect's samples, rollups, retention) commits without
        waiting for the disk (WAL, synchronous=NORMAL): a killed process still
        keeps every committed batch, a power cut may lose the last few seconds of
        samples, never the database. Runs and the journal always wait (FULL).
        """
        with self._lock:
            try:
                if not durable:
                    self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: {exc}") from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"store {self.path}: {exc}") from None
                raise
            finally:
                if not durable:
                    self._conn.execute("PRAGMA synchronous=FULL")

    def _query(self, kind: type[_R], sql: str, args: Sequence[Any] = ()) -> list[_R]:
        with self._lock:
            try:
                cursor = self._conn.execute(sql, tuple(args))
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: {exc}") from None
        return _build(kind, names, rows)

    def _stream(self, kind: type[_R], sql: str, args: Sequence[Any] = (),
                chunk: int = 2000) -> Iterator[_R]:
        """Rows one chunk at a time from a private read connection: constant memory,
        and the shared connection stays free for other threads meanwhile."""
        try:
            reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: {exc}") from None
        try:
            cursor = reader.execute(sql, tuple(args))
            names = [d[0] for d in cursor.description]
            while rows := cursor.fetchmany(chunk):
                yield from _build(kind, names, rows)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: {exc}") from None
        finally:
            reader.close()

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Plain tuples for readers that need columns, not row objects, by the million."""
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: {exc}") from None

    def scalar(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._lock:
            row = self._conn.execute(sql, tuple(args)).fetchone()
        return None if row is None else row[0]


def _build(kind: type[_R], names: list[str], rows: Sequence[Any]) -> list[_R]:
    wanted = set(columns_of(kind))
    if all(n in wanted for n in names):
        return [kind(**dict(zip(names, row, strict=True))) for row in rows]
    keep = [(i, n) for i, n in enumerate(names) if n in wanted]
    return [kind(**{n: row[i] for i, n in keep}) for row in rows]
