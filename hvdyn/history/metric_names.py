"""Series names of `hvdyn exporter` and how store rows map onto them (both ways).

One table per row type: (row field, metric name, scale). Sizes are exposed
in bytes (store MB x 2**20, exact in a float64), pressures in percent as the
Hyper-V counters give them. `source` reads the same tables backwards, so a
name changed here changes both sides. docs/metrics.md lists them for users.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024

VM_LABELS = ("host", "vm", "vm_id")


@dataclass(frozen=True, slots=True)
class Series:
    field: str  # attribute of the store row
    name: str  # metric name as exposed (counters: without `_total`)
    scale: int  # exposed value = row value x scale
    help: str
    counter: bool = False

    @property
    def exposed(self) -> str:
        """The name a query uses (counters carry `_total`)."""
        return f"{self.name}_total" if self.counter else self.name


# SampleRow fields: one sample of the "Hyper-V Dynamic Memory VM" counter set.
VM_SAMPLE_SERIES: tuple[Series, ...] = (
    Series("physical_mb", "hvdyn_vm_assigned_memory_bytes", MB,
           "Physical Memory counter: memory assigned to the VM now."),
    Series("guest_visible_mb", "hvdyn_vm_guest_visible_memory_bytes", MB,
           "Guest Visible Physical Memory counter: memory the guest sees."),
    Series("current_pressure", "hvdyn_vm_pressure_percent", 1,
           "Current Pressure counter: guest committed memory / assigned memory x 100."),
    Series("average_pressure", "hvdyn_vm_pressure_average_percent", 1,
           "Average Pressure counter (the balancer's smoothed pressure)."),
    Series("minimum_pressure", "hvdyn_vm_pressure_minimum_percent", 1,
           "Minimum Pressure counter."),
    Series("maximum_pressure", "hvdyn_vm_pressure_maximum_percent", 1,
           "Maximum Pressure counter."),
    Series("added_mb", "hvdyn_vm_memory_added_bytes", MB,
           "Added Memory counter: memory hot-added since the VM started.", counter=True),
    Series("removed_mb", "hvdyn_vm_memory_removed_bytes", MB,
           "Removed Memory counter: memory ballooned away since the VM started.", counter=True),
    Series("add_ops", "hvdyn_vm_memory_add_operations", 1,
           "Memory Add Operations counter.", counter=True),
    Series("remove_ops", "hvdyn_vm_memory_remove_operations", 1,
           "Memory Remove Operations counter.", counter=True),
)

# VmSettingsRow fields: the VM's settings as discovery saw them at the same collection.
VM_SETTINGS_SERIES: tuple[Series, ...] = (
    Series("state", "hvdyn_vm_state", 1,
           "EnabledState of the VM: 2 running, 3 off, 32768 paused, 32769 saved."),
    Series("dynamic", "hvdyn_vm_dynamic_memory_enabled", 1, "1 when Dynamic Memory is on."),
    Series("startup_mb", "hvdyn_vm_startup_memory_bytes", MB,
           "Configured startup memory (VirtualQuantity)."),
    Series("minimum_mb", "hvdyn_vm_minimum_memory_bytes", MB,
           "Configured minimum memory (Reservation)."),
    Series("maximum_mb", "hvdyn_vm_maximum_memory_bytes", MB,
           "Configured maximum memory (Limit)."),
    Series("buffer", "hvdyn_vm_memory_buffer_percent", 1,
           "Configured memory buffer (TargetMemoryBuffer)."),
    Series("weight", "hvdyn_vm_memory_weight", 1,
           "Configured memory weight (Weight, 0..10000)."),
)
VM_INFO = "hvdyn_vm_info"  # labels host, vm, vm_id, os, arch; value 1

# BalancerRow fields, labels host and balancer (the counter instance).
BALANCER_SERIES: tuple[Series, ...] = (
    Series("available_mb", "hvdyn_balancer_available_memory_bytes", MB,
           "Balancer Available Memory counter: memory the balancer can still hand out."),
    Series("average_pressure", "hvdyn_balancer_pressure_average_percent", 1,
           "Balancer Average Pressure counter over its VMs."),
)

# HostMemoryRow fields, label host.
HOST_MEMORY_SERIES: tuple[Series, ...] = (
    Series("total_mb", "hvdyn_host_memory_bytes", MB, "Physical memory of the host."),
    Series("free_mb", "hvdyn_host_free_memory_bytes", MB, "Free memory of the host."),
    Series("reserve_mb", "hvdyn_host_reserve_memory_bytes", MB,
           "Registry MemoryReserve of the parent partition (absent when not set)."),
)

# Collection health, label host.
UP = "hvdyn_up"
SAMPLE_TIMESTAMP = "hvdyn_sample_timestamp_seconds"
COLLECTION_TIMESTAMP = "hvdyn_collection_timestamp_seconds"
COLLECTION_SUCCESS_TIMESTAMP = "hvdyn_collection_last_success_timestamp_seconds"
COLLECTION_DURATION = "hvdyn_collection_duration_seconds"
COLLECTIONS = "hvdyn_collections"  # counter: hvdyn_collections_total
COLLECTION_FAILURES = "hvdyn_collection_failures"  # counter: ..._total
AMBIGUOUS = "hvdyn_vm_ambiguous_counter_instances"

# Audit (with --policy); the same names and meaning as `hvdyn audit --format prometheus`.
AUDIT_FINDINGS = "hvdyn_audit_findings"
AUDIT_SUCCESS = "hvdyn_host_audit_success"
AUDIT_TIMESTAMP = "hvdyn_audit_timestamp_seconds"
DRIFT = "hvdyn_vm_drift_settings"
OVERCOMMIT = "hvdyn_host_overcommit_ratio"
