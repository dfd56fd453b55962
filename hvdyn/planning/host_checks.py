"""Old home of the host checks, kept for `hvdyn.run.engine`: use `hvdyn.planning.checks`."""

from hvdyn.planning.checks.host import CAPACITY, HostContext, check_host

__all__ = ["CAPACITY", "HostContext", "check_host"]
