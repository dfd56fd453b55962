"""What `hvdyn schedule` writes: checked cron expressions and systemd units.

Why check: a crontab line with `61 * * * *` or a timer whose OnCalendar=
systemd cannot parse is accepted silently by the editor and then never
runs; the job's silence looks like "no drift". Cron fields are checked
here against the ranges of crontab(5); OnCalendar= by `systemd-analyze
calendar` itself where it is installed (its grammar is large), else only
for being one line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from hvdyn.core.errors import InputError

# crontab(5): field name, lowest, highest, names allowed in place of numbers
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                      "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_ITEM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")
# systemd unit names (systemd.unit(5)), less the escaping backslash; also the cron log's name
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.@-]{1,200}")
# Commands whose exit code 2 means drift or an error finding (reported, not a failure).
DRIFT_EXIT_COMMANDS = ("audit", "plan", "apply", "rollback")


def _number(text: str, field: tuple[str, int, int, tuple[str, ...]], expr: str) -> int:
    name, low, high, names = field
    if text in names:
        return names.index(text) + (1 if name == "month" else 0)
    if not text.isdigit():
        allowed = f"{low}-{high}" + (f" or {', '.join(names[:3])}, ..." if names else "")
        raise InputError(f"--cron-expr {expr!r}: {name} {text!r} is not a number "
                         f"(allowed: {allowed})")
    value = int(text)
    if not low <= value <= high:
        raise InputError(f"--cron-expr {expr!r}: {name} {value} is out of range "
                         f"(allowed: {low}-{high})")
    return value


def check_cron(expr: str) -> str:
    """The five-field expression, normalised to single spaces; InputError naming the field."""
    parts = expr.split()
    if len(parts) != len(CRON_FIELDS):
        raise InputError(f"--cron-expr {expr!r} needs five fields: minute hour day-of-month "
                         "month day-of-week (e.g. '*/5 * * * *')")
    for text, field in zip(parts, CRON_FIELDS, strict=True):
        for item in text.lower().split(","):
            match = _ITEM.match(item)
            if match is None:
                raise InputError(f"--cron-expr {expr!r}: {field[0]} {item!r} is not *, N, "
                                 "N-M, */S or N-M/S")
            bounds = match["range"]
            if bounds != "*":
                ends = [_number(b, field, expr) for b in bounds.split("-")]
                if len(ends) == 2 and ends[0] > ends[1]:
                    raise InputError(f"--cron-expr {expr!r}: {field[0]} range {bounds} runs "
                                     "backwards")
            if match["step"] is not None and int(match["step"]) == 0:
                raise InputError(f"--cron-expr {expr!r}: {field[0]} step 0")
    return " ".join(parts)


def check_on_calendar(expr: str) -> str:
    """OnCalendar= as `systemd-analyze calendar` normalises it; InputError if it rejects it.

    Without systemd-analyze (a workstation without systemd) the expression
    is passed through; systemd checks it when the timer is loaded.
    """
    if not expr.strip() or "\n" in expr:
        raise InputError(f"--on-calendar {expr!r}: one OnCalendar= expression, e.g. hourly "
                         "or *:0/5")
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return expr.strip()
    try:
        done = subprocess.run([tool, "calendar", expr], capture_output=True, text=True,
                              timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return expr.strip()
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["rejected"])[-1]
        raise InputError(f"--on-calendar {expr!r}: systemd-analyze calendar says: {why} "
                         "(see systemd.time(7): e.g. hourly, daily, *:0/5, Mon *-*-* 06:00)")
    return expr.strip()


def check_unit_name(name: str) -> str:
    """`--name` as systemd can load it (and as a file name in -o DIR); InputError if not."""
    if not _UNIT_NAME.fullmatch(name):
        raise InputError(f"--name {name!r}: a unit name is 1-200 of A-Z a-z 0-9 : _ . @ - "
                         "(no spaces or slashes), e.g. hvdyn-audit-nightly")
    return name


def systemd_exec(command: str) -> str:
    """A shell-quoted command line for ExecStart=: systemd reads `\\` escapes, expands
    `%` specifiers and `$VAR` itself, so each is doubled to stay as typed."""
    return command.replace("\\", "\\\\").replace("%", "%%").replace("$", "$$")


def systemd_environment(name: str, value: str) -> str:
    """An Environment= line whose value may hold spaces, quotes or `%` (kept as typed)."""
    assignment = f"{name}={value}"
    if not re.search(r'[\s"\'\\%]', assignment):
        return f"Environment={assignment}"  # as written before: nothing to quote
    quoted = assignment.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'Environment="{quoted}"'


def cron_command(command: str) -> str:
    """A crontab command: cron turns an unescaped `%` into a newline (crontab(5))."""
    return command.replace("%", "\\%")


def service_unit(name: str, command: str, subcommand: str, state_dir: str) -> str:
    drift = subcommand in DRIFT_EXIT_COMMANDS
    lines = [
        "[Unit]",
        f"Description=hvdyn {subcommand} ({name})",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        systemd_environment("HVDYN_STATE_DIR", state_dir),
        "# Passwords for hosts: the variables the inventory's hvdyn_password_env names, in a",
        "# file only root can read (chmod 600), one NAME=value per line:",
        "#EnvironmentFile=/etc/hvdyn/credentials.env",
        f"ExecStart={systemd_exec(command)}",
    ]
    if drift:
        lines += ["# exit 2 = drift or an error finding: the report says so; the unit fails "
                  "only on 1/3",
                  "SuccessExitStatus=2"]
    return "\n".join(lines) + "\n"


def timer_unit(name: str, on_calendar: str) -> str:
    return "\n".join([
        "[Unit]",
        f"Description=Run {name}.service on a schedule",
        "",
        "[Timer]",
        f"OnCalendar={on_calendar}",
        "Persistent=true",
        "RandomizedDelaySec=60",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]) + "\n"


def exporter_unit(name: str, command: str, state_dir: Path) -> str:
    """A systemd service for `hvdyn schedule --systemd -- exporter ...`.

    `command` is ready for ExecStart= (`systemd_exec`).
    """
    environment = systemd_environment("HVDYN_STATE_DIR", str(state_dir))
    return f"""# /etc/systemd/system/{name}.service
[Unit]
Description=Hyper-V Dynamic Memory metrics for Prometheus (hvdyn exporter)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
{environment}
ExecStart={command}
# systemctl stop sends SIGTERM: the exporter stops collecting and serving, exit 0
TimeoutStopSec=30
Restart=on-failure
RestartSec=30
# exit 3 = invalid input (inventory, policy, --listen): restarting will not help
RestartPreventExitStatus=3

[Install]
WantedBy=multi-user.target

# enable with: systemctl daemon-reload && systemctl enable --now {name}.service
"""
