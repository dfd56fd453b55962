"""The output directory of `render`: which files hvdyn wrote there, and only those go.

A render lists every file it wrote on the `Files:` line of its README.txt
(renders before that line existed listed their scripts on `Hosts:`). The
next render into the same directory removes the files of the earlier one
that it does not write again (scripts of hosts no longer selected), so the
directory never shows a stale script beside fresh ones. Files hvdyn did not
write are never removed or overwritten: a directory holding any is refused
unless `--force`, and even then a name clash is refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hvdyn.core.errors import LocatedError, OutputPathError, clip
from hvdyn.core.fileio import read_input

README = "README.txt"
PLAN = "plan.json"
README_TITLE = "hvdyn render output"
FILES_LINE = "Files: "
_OLD_FILES_LINE = "Hosts: "  # renders before the Files: line: their scripts
_SHOWN = 5


@dataclass(frozen=True, slots=True)
class RenderDir:
    """What `prepare` found in the output directory."""

    path: Path
    exists: bool
    earlier: frozenset[str]  # files an earlier render wrote there
    foreign: tuple[str, ...]  # entries hvdyn did not write (left alone)


def _is_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def manifest(readme_text: str) -> frozenset[str] | None:
    """The files a render's README.txt lists as written; None when it is not hvdyn's."""
    lines = readme_text.splitlines()
    if not lines or lines[0].strip() != README_TITLE:
        return None
    listed = [ln for ln in lines if ln.startswith(FILES_LINE)]
    if listed:
        names = listed[-1][len(FILES_LINE):].split(", ")
    else:
        old = [ln for ln in lines if ln.startswith(_OLD_FILES_LINE)]
        names = old[-1][len(_OLD_FILES_LINE):].split(", ") if old else []
        names = [n for n in names if n.endswith(".ps1")] + [README, PLAN]
    return frozenset(n.strip() for n in names if _is_name(n.strip()))


def _earlier_files(directory: Path) -> frozenset[str] | None:
    readme = directory / README
    try:
        if not stat.S_ISREG(os.lstat(readme).st_mode):
            return None
    except OSError:
        return None
    try:
        text = read_input(readme).decode("utf-8", errors="replace")
    except LocatedError:  # unreadable: not known to be hvdyn's
        return None
    return manifest(text)


def _shown(names: Iterable[str]) -> str:
    names = sorted(names)
    text = ", ".join(clip(n, 80) for n in names[:_SHOWN])
    return text + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def prepare(directory: Path, will_write: Iterable[str], *, force: bool) -> RenderDir:
    """Check the output directory before any host is contacted; refuse with exit 3.

    `will_write` are the names this render may write there.
    """
    text = os.fspath(directory)
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        if not directory.parent.is_dir():
            raise OutputPathError(
                f"{text}: directory {directory.parent} does not exist (hvdyn creates the "
                "output directory, not its parents)"
            ) from None
        return RenderDir(directory, exists=False, earlier=frozenset(), foreign=())
    except OSError as exc:
        raise OutputPathError(f"{text}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"{text} exists and is not a directory")
    try:
        entries = set(os.listdir(directory))
    except OSError as exc:
        raise OutputPathError(f"{text}: {exc.strerror or exc}") from None
    earlier = _earlier_files(directory)
    ours = (earlier or frozenset()) & entries
    foreign = entries - ours
    clash = foreign & set(will_write)
    if clash:
        raise OutputPathError(
            f"{text}: would overwrite {_shown(clash)}, which hvdyn did not write; "
            "move them away or choose another directory"
        )
    if foreign and not force:
        raise OutputPathError(
            f"{text} holds files an earlier render did not write ({_shown(foreign)}); "
            "choose an empty or new directory, or pass --force to write beside them "
            "(they are left alone)"
        )
    return RenderDir(directory, exists=True, earlier=ours, foreign=tuple(sorted(foreign)))


def create(rdir: RenderDir) -> bool:
    """Create the output directory when it is missing; True when it was created."""
    if rdir.exists:
        return False
    try:
        rdir.path.mkdir(mode=0o755)
    except FileExistsError:
        return False
    except OSError as exc:
        raise OutputPathError(f"{rdir.path}: cannot create: {exc.strerror or exc}") from None
    return True


def remove_stale(rdir: RenderDir, written: Iterable[str]) -> list[str]:
    """Remove what the earlier render wrote and this one did not; regular files only."""
    removed: list[str] = []
    for name in sorted(rdir.earlier - set(written)):
        path = rdir.path / name
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                path.unlink()
                removed.append(name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise OutputPathError(f"{path}: cannot remove: {exc.strerror or exc}") from None
    return removed
