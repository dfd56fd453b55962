"""Click commands, one module per command family; each registers itself on `hvdyn.cli.group.cli`."""
