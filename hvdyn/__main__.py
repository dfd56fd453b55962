"""`python -m hvdyn` runs the CLI."""

from hvdyn.cli import main

main()
