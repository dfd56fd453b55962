"""One module per command, named as the command; each defines its click `command`.

The group (`hvdyn.cli.group`) imports `hvdyn.cli.commands.<name>` when the
command is looked up; no module here imports the group.
"""
