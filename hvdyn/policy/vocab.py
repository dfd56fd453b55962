"""The words a policy file uses for fixed choices, each spelled in one place."""

from __future__ import annotations

import enum

from hvdyn.core.model import VmState


class Restart(enum.StrEnum):
    """A rule's `restart:`: may apply shut a running VM down for needs-off changes?"""

    ALLOWED = "allowed"  # yes, even without --allow-restart
    NEVER = "never"  # no, even with --allow-restart


# The VM states `match: state:` can name, in the order error messages list them.
MATCH_STATES = (VmState.RUNNING, VmState.OFF, VmState.SAVED, VmState.PAUSED)
