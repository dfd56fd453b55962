"""The one in-process runner of the `hvdyn` command for the whole suite.

Tests get it as the `hvdyn` fixture (tests/conftest.py) or call `run_cli`
where a fixture does not fit (session fixtures, hypothesis loops, helpers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hvdyn.cli.group import cli


@dataclass(frozen=True)
class CliResult:
    """Exit code and the two streams, named as click's own result names them."""

    exit_code: int
    stdout: str
    stderr: str
    output: str  # stdout and stderr interleaved, as a terminal shows them
    exception: BaseException | None  # SystemExit, or what `catch_exceptions` caught

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def traceback_free(self) -> bool:
        """The command ended through hvdyn's own exit path, not an uncaught exception."""
        return self.exception is None or isinstance(self.exception, SystemExit)


def run_cli(*args: str | Path, state_dir: Path | None = None,
            env: Mapping[str, str | None] | None = None,
            catch_exceptions: bool = False) -> CliResult:
    """`hvdyn ARGS...` in this process.

    `state_dir` goes in as --state-dir, before any `--` (what follows it is
    `schedule`'s command), and not for `--help`/`--version` alone.
    """
    argv = [str(a) for a in args]
    if state_dir is not None and argv[:1] not in (["--help"], ["--version"]):
        cut = argv.index("--") if "--" in argv else len(argv)
        argv = [*argv[:cut], "--state-dir", str(state_dir), *argv[cut:]]
    result = CliRunner().invoke(cli, argv, env=env, catch_exceptions=catch_exceptions)
    return CliResult(result.exit_code, result.stdout, result.stderr, result.output,
                     result.exception)


Hvdyn = Callable[..., CliResult]
