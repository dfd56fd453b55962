"""`hvdyn export samples`: stored samples as CSV, JSON or JSON lines, in constant memory.

CSV follows RFC 4180: CRLF between records, and a field holding a comma, a
quote, a CR or an LF is quoted (so a VM name with a line break stays one
cell). Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a CR
would be formulas in a spreadsheet: they are written with a leading ``'``
(the OWASP "CSV injection" advice; spreadsheets show the text as typed).
Numbers are never altered. JSON and JSON lines carry values unchanged.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO

from hvdyn.core.errors import InputError
from hvdyn.history.rows import SampleRow

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = tuple(f.name for f in fields(SampleRow))


def csv_cell(value: object) -> object:
    """A value as a safe CSV cell: bools as 0/1, None empty, formula-like text quoted off."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_samples(rows: Iterable[SampleRow], fmt: str, out: IO[str]) -> int:
    """Write rows one at a time as `fmt` (csv, json, jsonl); returns how many."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([csv_cell(getattr(row, c)) for c in COLUMNS])
            count += 1
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
            count += 1
    else:
        out.write("[")
        for row in rows:
            item = json.dumps(asdict(row), indent=2, ensure_ascii=False)
            out.write(("\n  " if count == 0 else ",\n  ") + item.replace("\n", "\n  "))
            count += 1
        out.write("\n]\n" if count else "]\n")
    return count


@contextmanager
def atomic_text_file(path: Path, *, mode: int = 0o644) -> Iterator[IO[str]]:
    """A file written in pieces that readers see whole or not at all (like write_atomic).

    Only a regular file (or a missing path) is replaced: a device, FIFO or
    directory at `path` is refused, never turned into a regular file.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise InputError(f"-o {path}: {exc.strerror}") from None
    else:
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"-o {path}: not a regular file; hvdyn replaces only regular "
                             "files (write to stdout and redirect instead)")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"-o {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
