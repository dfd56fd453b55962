"""PowerShell files the transports ship, from the templates directory.

The bootstrap files are plain PowerShell (no Jinja):
they take no values from Python.
"""

from __future__ import annotations

import base64
from functools import cache

from hvdyn.powershell.templates import template_dir

STDIN_BOOTSTRAP = "_bootstrap.ps1"
FILE_DECODER = "_bootstrap_file.ps1"


@cache
def read_asset(name: str) -> str:
    """The text of a shipped PowerShell file, with CRLF line ends."""
    text = (template_dir() / name).read_text(encoding="utf-8")
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
