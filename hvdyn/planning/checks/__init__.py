"""Safety checks: declared rules that turn a plan's facts into findings.

Each check is a rule declared once with its id, severity and title
(`framework.check`); its function says only where and why. VM checks (`vm`)
see one VM's planned settings, host checks (`host`) every plan on a host.
Errors block the VM's changes (capacity errors the host's); warnings and
infos are shown and do not block. The README's table is generated from
these declarations (`hvdyn.analysis.catalog.checks_table`).
"""

from hvdyn.planning.checks.framework import Check, Hit, check
from hvdyn.planning.checks.guest import guest_dm_support
from hvdyn.planning.checks.host import CAPACITY, HOST_CHECKS, HostContext, check_host
from hvdyn.planning.checks.vm import VM_CHECKS, VmContext, check_vm

__all__ = [
    "CAPACITY",
    "HOST_CHECKS",
    "VM_CHECKS",
    "Check",
    "Hit",
    "HostContext",
    "VmContext",
    "check",
    "check_host",
    "check_vm",
    "guest_dm_support",
]
