"""What `Msvm_ComputerSystem` looks like on a host of a given display language.

vmms localizes `Caption` and `Description` of the computer-system objects,
so a script that tells VMs from the host by either finds no VM on a
non-English host and reports no error. A VM's `Name` is its GUID; the
host object's `Name` is the computer name: that is the only test that
holds everywhere.

Strings: en-US as Microsoft documents them (libvirt's Hyper-V driver
filters on the same Description values); the Swedish Caption "Virtuell
dator" and the French Description "Ordinateur virtuel Microsoft" as users
reported them (GNS3 gns3-server#1612, containers/libhvee#52). The other
de-DE, fr-FR and sv-SE strings are representative translations, not read
from a host: `hvdyn probe` prints a real host's values.
"""

from __future__ import annotations

from typing import Any

from hvdyn.sim.state import HostState

# locale -> (VM Caption, VM Description, host Caption, host Description)
CAPTIONS: dict[str, tuple[str, str, str, str]] = {
    "en-US": (
        "Virtual Machine",
        "Microsoft Virtual Machine",
        "Hosting Computer System",
        "Microsoft Hosting Computer System",
    ),
    "de-DE": (
        "Virtueller Computer",
        "Virtueller Microsoft-Computer",
        "Hostcomputersystem",
        "Microsoft-Hostcomputersystem",
    ),
    "fr-FR": (
        "Ordinateur virtuel",
        "Ordinateur virtuel Microsoft",
        "Syst\u00e8me informatique h\u00f4te",
        "Syst\u00e8me informatique h\u00f4te Microsoft",
    ),
    "sv-SE": (
        "Virtuell dator",
        "Microsoft virtuell dator",
        "V\u00e4rddatorsystem",
        "Microsoft v\u00e4rddatorsystem",
    ),
}
LOCALES = tuple(CAPTIONS)


def computer_systems(host: HostState) -> list[dict[str, Any]]:
    """Every `Msvm_ComputerSystem` instance: the host object first, then the VMs."""
    vm_caption, vm_desc, host_caption, host_desc = CAPTIONS[host.locale]
    objects: list[dict[str, Any]] = [
        {
            "Name": host.name.split(".")[0].upper()[:15],
            "ElementName": host.name.split(".")[0].upper()[:15],
            "Caption": host_caption,
            "Description": host_desc,
            "EnabledState": 2,
        }
    ]
    for vm in host.vms:
        objects.append(
            {
                "Name": vm.id,
                "ElementName": vm.name,
                "Caption": vm_caption,
                "Description": vm_desc,
                "EnabledState": vm.state,
            }
        )
    return objects
