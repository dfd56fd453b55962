"""PowerShell files the transports ship: located like render.py finds templates.

The wheel carries `templates/` as `hvdyn/templates/`; a source checkout has
it at `<repo>/templates/`. The bootstrap files are plain PowerShell (no Jinja):
they take no values from Python.
"""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path

STDIN_BOOTSTRAP = "_bootstrap.ps1"
FILE_DECODER = "_bootstrap_file.ps1"


def templates_dir() -> Path:
    """`hvdyn/templates/` when installed from a wheel, else `<repo>/templates/`."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "templates"
    if installed.is_dir():
        return installed
    return package.parent / "templates"


@cache
def read_asset(name: str) -> str:
    """The text of a shipped PowerShell file, with CRLF line ends."""
    text = (templates_dir() / name).read_text(encoding="utf-8")
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def strip_comments(text: str) -> str:
    """Drop whole-line comments and blank lines (the bootstraps have no here-strings)."""
    lines = text.split("\r\n")
    kept = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return "\r\n".join(kept)


@cache
def encoded_command(name: str) -> str:
    """The file, comments dropped, as a `-EncodedCommand` argument (base64 of UTF-16LE)."""
    return base64.b64encode(strip_comments(read_asset(name)).encode("utf-16-le")).decode("ascii")
