"""The `hvdyn` command line: the group and shared options; one module per command in `commands`."""

from hvdyn.cli.group import cli, main

__all__ = ["cli", "main"]
