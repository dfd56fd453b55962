"""Commands load lazily: the --help listing read from source equals the imported commands'."""

from __future__ import annotations

import subprocess
import sys

import click

from hvdyn import cli as cli_module


def test_listing_from_source_matches_the_imported_commands() -> None:
    index = cli_module.command_index()
    assert index is not None, "a command module uses a decorator form the reader does not know"
    cli_module.import_commands()
    group = cli_module.cli
    assert set(index) == set(group.commands)
    for name, listed in index.items():
        real = group.commands[name]
        stand_in = listed.placeholder()
        assert stand_in.hidden == real.hidden, name
        for limit in (30, 45, 80):
            assert stand_in.get_short_help_str(limit) == real.get_short_help_str(limit), name


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from hvdyn.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = ('hvdyn.commands.', 'hvdyn.engine', 'pydantic', 'jinja2', 'winrm', 'requests')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_command_is_found_without_importing_its_module_first() -> None:
    ctx = click.Context(cli_module.cli)
    command = cli_module.cli.get_command(ctx, "validate")
    assert command is not None and command.name == "validate"
    assert cli_module.cli.get_command(ctx, "no-such-command") is None
