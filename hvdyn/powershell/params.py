"""Script parameters: the data each template and the simulated host consume.

A `Script` is a template name plus JSON-shaped parameters. The real hosts
get the parameters as PowerShell literals in the rendered text; the mock
transport hands the same parameters to `hvdyn.sim`. Both sides implement the
same steps, described here once (contract).

``discover``  params ``{"host": str}``
    Prints one ``host`` record and one ``vm`` record per VM (host object and
    snapshot/definition settings excluded).

``apply``  params::

    {"host": str, "job_timeout_s": int, "shutdown_timeout_s": int,
     "start_timeout_s": int, "force_off": bool,
     "force_shutdown": bool,                 (optional: false when absent)
     "retries": int, "retry_delay_s": int,   (optional: 0 and 1 when absent)
     "vms": [{"id": GUID, "name": str, "expect_state": int,
              "expect": SETTINGS, "target": SETTINGS,
              "offline": bool, "restart": bool}]}

    SETTINGS is an object with the six `model.FIELDS`. Every WMI method call
    (modify, state changes) that returns 32774 (system in use) is retried
    up to ``retries`` times, waiting ``retry_delay_s`` then doubling. Per VM,
    in order, each VM in its own try/catch (one failing never stops the rest):

    1. find the VM by GUID; missing -> result ``failed`` "VM not found".
    2. read state and memory settings; if they differ from ``expect`` /
       ``expect_state`` -> result ``conflict`` (nothing written).
    3. equal to ``target`` already -> result ``unchanged``.
    4. ``offline`` and the VM is not Off: only when ``restart`` is true and
       the VM is Running, Paused or Saved (else result ``pending``, nothing
       written). Never a clustered VM (``pending``: the cluster would see a
       failure), nor any VM with ``restart`` while the cluster check failed
       (``pending``). A Paused/Saved VM is first resumed
       (RequestStateChange(2)) and waited for Running and heartbeat OK. Then
       InitiateShutdown(Force=false) (graceful, through the shutdown
       integration service; 4096 is accepted like 0: the method has no Job
       out-parameter, the wait for Off below covers it). 32781 (a user session
       is locked): again with Force=true when ``force_shutdown``, else
       ``pending`` with code 32781 and a message naming --force-shutdown.
       Then wait for Off up to ``shutdown_timeout_s``; past the deadline
       RequestStateChange(3) when ``force_off``, else ``failed`` (a resumed
       VM is paused/saved again).
    5. ModifyVirtualSystemResources with ``target`` (Reservation written as
       given); 4096 -> wait for the job up to ``job_timeout_s`` (JobState 7
       is success). 32775 on a VM that is not Off -> ``pending``; any other
       code -> ``failed`` with that code. Clustered VMs: the cluster's copy
       of the configuration is refreshed after a successful write; while
       the cluster check failed, the result's message says no copy was
       refreshed (the VM may be clustered).
    6. if the script shut the VM down, whatever step 5 did: admission
       re-check (the balancer's Available Memory, else FreePhysicalMemory,
       must hold the new startup RAM; if not, the VM fails with "admission"
       and ``expect`` is written back only when its startup is smaller, the
       cluster copy refreshed again for a clustered VM),
       start it (RequestStateChange(2); 32778 = not enough memory), wait for
       Running and then heartbeat OK up to ``start_timeout_s`` each, then
       back to the original state (RequestStateChange(32768) for Paused,
       (32769) for Saved). A failure here -> ``failed`` (settings may be
       written: they are read back).
    7. read back state and settings -> result (``applied`` when no step
       set another outcome).

``probe``  params ``{"host": str, "delivery": str, "exit_code": int}``
    Read-only. Prints one ``probe`` record per check (delivery, versions,
    winrm_quotas, locale, virtualization, vm_captions, counters_vm,
    counters_balancer, cluster) and exits with ``exit_code``.

``collect``  params ``{"host": str, "samples": int, "interval_s": int}``
    Prints ``sample`` records (one per counter instance per sample) and
    ``balancer`` records, then the ``host`` record.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from hvdyn.core.errors import RenderError
from hvdyn.core.model import FIELDS, OFFLINE_FIELDS, HostPlan, MemorySettings, VmPlan
from hvdyn.powershell.quoting import is_guid


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOptions:
    """Deadlines and permissions for the apply script."""

    job_timeout_s: int = 300
    shutdown_timeout_s: int = 600
    start_timeout_s: int = 300
    force_off: bool = False
    force_shutdown: bool = False  # a locked guest (32781) may be shut down with Force
    retries: int = 4  # 32774 (system in use) retries per call
    retry_delay_s: int = 2  # first backoff; doubles each retry


_SETTINGS = attrgetter(*FIELDS)  # the six values in FIELDS order, in one call
_OFFLINE = attrgetter(*(name for name in FIELDS if name in OFFLINE_FIELDS))


def settings_params(settings: MemorySettings) -> dict[str, bool | int]:
    return dict(zip(FIELDS, _SETTINGS(settings), strict=True))


def discover_params(host: str) -> dict[str, Any]:
    return {"host": host}


def collect_params(host: str, *, samples: int, interval_s: int) -> dict[str, Any]:
    return {"host": host, "samples": samples, "interval_s": interval_s}


def _vm_params(vm_plan: VmPlan) -> dict[str, Any]:
    vm = vm_plan.vm
    if not is_guid(vm.id):
        raise RenderError(f"VM id {vm.id!r} is not a GUID; refusing to address it")
    assert vm_plan.target is not None
    offline = _OFFLINE(vm_plan.target) != _OFFLINE(vm.memory)
    return {
        "id": vm.id,
        "name": vm.name,
        "expect_state": int(vm.state),
        "expect": settings_params(vm.memory),
        "target": settings_params(vm_plan.target),
        "offline": offline,
        "restart": vm_plan.restart,
    }


def apply_params(plan: HostPlan, options: ApplyOptions) -> dict[str, Any]:
    """Parameters for the apply script: only VMs with planned work, in plan order."""
    return {
        "host": plan.host,
        "job_timeout_s": options.job_timeout_s,
        "shutdown_timeout_s": options.shutdown_timeout_s,
        "start_timeout_s": options.start_timeout_s,
        "force_off": options.force_off,
        # A hard power-off is the stronger consent: it includes a forced clean shutdown.
        "force_shutdown": options.force_shutdown or options.force_off,
        "retries": options.retries,
        "retry_delay_s": options.retry_delay_s,
        "vms": [_vm_params(v) for v in plan.vms if v.has_work and v.target is not None],
    }
