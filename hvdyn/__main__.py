"""`python -m hvdyn` runs the CLI."""

from hvdyn.cli.group import main

main()
