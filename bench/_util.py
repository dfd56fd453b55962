"""Helpers shared by the benchmarks: machine description, peak RSS, RESULT line."""

from __future__ import annotations

import os
import platform
import resource
import sys


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def machine() -> str:
    cpus = os.cpu_count() or 0
    return f"{platform.python_implementation()} {platform.python_version()}, {cpus} CPUs, " + (
        f"{platform.system()} {platform.release()} {platform.machine()}"
    )


def result_line(**values: object) -> str:
    """The last line every benchmark prints: `RESULT key=value ...`."""
    parts = []
    for key, value in values.items():
        text = str(round(value, 3)) if isinstance(value, float) else str(value)
        parts.append(f"{key}={text}")
    return "RESULT " + " ".join(parts)
