"""Conditions of real 2008 R2 SP1 hosts the simulator models, and what the scripts do about them.

Each test names the issue item it covers. Where the simulator cannot see
the PowerShell (it runs the scripts' steps from their parameters), a
static check on the rendered template proves the template does the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hvdyn.powershell.params import ApplyOptions
from hvdyn.powershell.templates import render_script
from hvdyn.sim import load_fixture, run_script
from hvdyn.sim.locale import LOCALES, computer_systems
from hvdyn.sim.state import HostState, SimVm

from ..psval.wmi_select import enumerations, selected
from .conftest import settings

Write = Callable[..., Path]

VM = (
    "  - name: {name}\n    state: {state}\n    os: Windows Server 2008 R2 Enterprise\n"
    "    memory: {{dynamic: true, startup: {startup}, maximum: {maximum}}}\n{extra}"
)


def fixture(write: Write, host: str = "", vms: list[dict[str, str]] | None = None) -> HostState:
    body = "".join(
        VM.format(name=v["name"], state=v.get("state", "running"),
                  startup=v.get("startup", "1GB"), maximum=v.get("maximum", "4GB"),
                  extra=v.get("extra", ""))
        for v in (vms or [{"name": "vm-a"}])
    )
    return load_fixture(write(f"host: {{memory: 16GB, reserve: 2GB{host}}}\nvms:\n{body}"))


def apply_params(vm: SimVm, target: dict[str, Any], **opts: Any) -> dict[str, Any]:
    current = {
        "dynamic": vm.memory.dynamic, "startup_mb": vm.memory.virtual_quantity,
        "minimum_mb": vm.memory.reservation, "maximum_mb": vm.memory.limit,
        "buffer": vm.memory.buffer, "weight": vm.memory.weight,
    }
    params: dict[str, Any] = {
        "host": "h", "job_timeout_s": 60, "shutdown_timeout_s": 120, "start_timeout_s": 120,
        "force_off": False, "retries": 0, "retry_delay_s": 1,
        "vms": [{"id": vm.id, "name": vm.name, "expect_state": vm.state, "expect": current,
                 "target": {**current, **target}, "offline": True, "restart": True}],
    }
    params.update(opts)
    return params


def only_result(records: list[dict[str, Any]]) -> dict[str, Any]:
    results = [r for r in records if r["t"] == "result"]
    assert len(results) == 1, records
    return results[0]


# ---------------------------------------------------------------- item 2: localized Caption


@pytest.mark.parametrize("locale", LOCALES)
def test_discover_and_collect_select_the_same_vms_in_every_locale(
    write_fixture: Write, locale: str
) -> None:
    host = fixture(write_fixture, f", locale: {locale}",
                   [{"name": "vm-a"}, {"name": "vm-b", "state": "off"}, {"name": "vm-c"}])
    objects = computer_systems(host)
    assert len(objects) == 4  # the host object is an Msvm_ComputerSystem too
    vm_ids = sorted(vm.id for vm in host.vms)
    for script in ("discover", "collect"):
        params = {"host": "h"} if script == "discover" else {
            "host": "h", "samples": 1, "interval_s": 1}
        text = render_script(script, params).text
        lines = enumerations(text)
        assert lines, f"{script} enumerates no VMs"
        for line in lines:
            assert sorted(selected(line, text, objects)) == vm_ids, (locale, script, line)
    found = sorted(r["id"] for r in run_script(host, "discover", {"host": "h"}) if r["t"] == "vm")
    assert found == vm_ids


def test_localized_strings_really_differ() -> None:
    captions = {locale: computer_systems_caption(locale) for locale in LOCALES}
    assert len(set(captions.values())) == len(LOCALES)


def computer_systems_caption(locale: str) -> str:
    from hvdyn.sim.locale import CAPTIONS

    return CAPTIONS[locale][0]


# ---------------------------------------------------------------- item 3: locked guests


LOCKED = [{"name": "desk", "extra": "    locked: true\n"}]


def test_locked_guest_is_pending_without_force_shutdown(write_fixture: Write) -> None:
    host = fixture(write_fixture, vms=LOCKED)
    vm = host.vms[0]
    result = only_result(run_script(host, "apply", apply_params(vm, {"maximum_mb": 8192})))
    assert result["outcome"] == "pending" and result["code"] == 32781
    assert "--force-shutdown" in result["message"]
    assert vm.state == 2 and vm.memory.limit == 4096  # untouched, still running


@pytest.mark.parametrize("option", ["force_shutdown", "force_off"])
def test_locked_guest_is_shut_down_with_force_when_allowed(
    write_fixture: Write, option: str
) -> None:
    host = fixture(write_fixture, vms=LOCKED)
    vm = host.vms[0]
    opts = ApplyOptions(**{option: True})  # apply_params maps force_off to force_shutdown too
    from hvdyn.powershell.params import apply_params as real_params

    assert real_params.__name__  # the mapping itself is tested below
    params = apply_params(vm, {"maximum_mb": 8192}, force_off=opts.force_off,
                          force_shutdown=opts.force_shutdown or opts.force_off)
    result = only_result(run_script(host, "apply", params))
    assert result["outcome"] == "applied" and result["restarted"] is True
    assert vm.memory.limit == 8192 and vm.state == 2


def test_force_off_implies_force_shutdown_in_the_script_params() -> None:
    from hvdyn.core.model import HostPlan
    from hvdyn.powershell.params import apply_params as real_params

    plan = HostPlan(host="h", facts=None, vms=())
    assert real_params(plan, ApplyOptions(force_off=True))["force_shutdown"] is True
    assert real_params(plan, ApplyOptions())["force_shutdown"] is False
    assert real_params(plan, ApplyOptions(force_shutdown=True))["force_off"] is False


def test_initiate_shutdown_4096_is_accepted_and_waited_for(write_fixture: Write) -> None:
    host = fixture(write_fixture, vms=[{"name": "job", "extra": "    shutdown_job: true\n"}])
    vm = host.vms[0]
    result = only_result(run_script(host, "apply", apply_params(vm, {"maximum_mb": 8192})))
    assert result["outcome"] == "applied", result


def test_apply_template_retries_a_locked_guest_with_force_only_when_allowed() -> None:
    text = render_script("apply", {**_apply_template_params(), "force_shutdown": True}).text
    assert "$HvForceShutdown = $true" in text
    stop = _function(text, "Stop-HvVm")
    assert "InitiateShutdown($false," in stop and "InitiateShutdown($true," in stop
    locked = stop.index("-eq 32781")
    assert stop.index("$HvForceShutdown", locked) < stop.index("InitiateShutdown($true,")
    assert "p = $true" in stop  # pending, not failed
    # 4096 is accepted like 0 (InitiateShutdown has no Job out-parameter): the wait for Off follows.
    assert "$rv -ne 0 -and $rv -ne 4096 -and $rv -ne 32782" in stop
    assert stop.index("-ne 4096") < stop.index("Wait-HvState $id 3")


# ---------------------------------------------------------------- item 4: clusters


CLUSTERED = [{"name": "clu", "extra": "    clustered: true\n"}]


def test_script_itself_refuses_to_stop_a_clustered_vm(write_fixture: Write) -> None:
    """Even when the parameters (not the planner) ask for a restart."""
    host = fixture(write_fixture, vms=CLUSTERED)
    vm = host.vms[0]
    result = only_result(run_script(host, "apply", apply_params(vm, {"maximum_mb": 8192})))
    assert result["outcome"] == "pending" and "clustered" in result["message"]
    assert vm.state == 2 and vm.memory.limit == 4096 and vm.cluster_refreshes == 0


def test_clustered_vm_that_is_off_is_written_and_its_cluster_copy_refreshed(
    write_fixture: Write,
) -> None:
    host = fixture(write_fixture, vms=[{"name": "clu", "state": "off",
                                        "extra": "    clustered: true\n"}])
    vm = host.vms[0]
    params = apply_params(vm, {"maximum_mb": 8192})
    result = only_result(run_script(host, "apply", params))
    assert result["outcome"] == "applied" and vm.cluster_refreshes == 1


def test_admission_write_back_refreshes_the_cluster_copy_again(write_fixture: Write) -> None:
    host = fixture(write_fixture, vms=CLUSTERED)
    vm = host.vms[0]
    params = apply_params(vm, {})
    vm.cluster_refreshes = 1  # step 5 refreshed it with the new settings
    expect = params["vms"][0]["expect"]
    target = {**expect, "startup_mb": 14336, "maximum_mb": 14336}
    outcome, message = admission(host, vm, params, expect, target, clustered=True)
    assert outcome == "failed" and message and "previous settings restored" in message
    assert vm.cluster_refreshes == 2


def test_failing_cluster_provider_is_a_warning_and_blocks_restarts(write_fixture: Write) -> None:
    host = fixture(write_fixture, ", cluster: fails", CLUSTERED)
    records = run_script(host, "discover", {"host": "h"})
    warnings = [r for r in records if r["t"] == "warning"]
    assert len(warnings) == 1 and "root\\MSCluster" in warnings[0]["message"]
    assert [r["clustered"] for r in records if r["t"] == "vm"] == [False]  # unknown, not "no"
    vm = host.vms[0]
    result = only_result(run_script(host, "apply", apply_params(vm, {"maximum_mb": 8192})))
    assert result["outcome"] == "pending" and "unknown" in result["message"]
    assert vm.state == 2


def test_online_write_while_the_cluster_check_failed_says_the_cluster_copy_may_be_stale(
    write_fixture: Write,
) -> None:
    """Written, but hvdyn cannot know whether to refresh the cluster's copy: the result says
    so (a failover would otherwise bring the old settings back without a word)."""
    host = fixture(write_fixture, ", cluster: fails", CLUSTERED)
    vm = host.vms[0]
    params = apply_params(vm, {"weight": 9000})
    params["vms"][0]["offline"] = False
    result = only_result(run_script(host, "apply", params))
    assert result["outcome"] == "applied" and vm.memory.weight == 9000
    assert result["message"] and "Failover Cluster Manager" in result["message"]
    assert "unknown" in result["message"] and vm.cluster_refreshes == 0
    apply = render_script("apply", _apply_template_params()).text
    step5 = apply[apply.index("$msg = Update-HvCluster $clu.map[$id]"):]
    assert step5.splitlines()[1].lstrip().startswith("} elseif ($clu.err) {")


def test_cluster_check_uses_packet_privacy_and_tells_absent_from_failed() -> None:
    text = render_script("discover", {"host": "h"}).text
    cluster = _function(text, "Get-HvClusterMap")
    query = next(line for line in cluster.splitlines() if "root\\MSCluster" in line)
    assert "-Authentication PacketPrivacy" in query and "-Impersonation Impersonate" in query
    # "Not a cluster node" is read from root's __NAMESPACE instances before the query, never
    # from the query's error: Get-WmiObject reports an absent namespace as a new
    # ManagementException without WBEM_E_INVALID_NAMESPACE (PowerShell's GetWmiObjectCommand),
    # so an error-code test would call every standalone host's cluster check failed.
    _assert_namespace_checked_first(cluster, query)
    assert "2147749902" not in cluster
    assert "} catch {\n$e = Get-HvErr $_" in cluster.split("ErrorAction Stop")[-1]
    assert "Out-Hv 'warning'" in text
    apply = render_script("apply", _apply_template_params()).text
    step4 = apply[apply.index("# 4.") if "# 4." in apply else 0:]
    assert "$clu.map.ContainsKey($id)" in apply and "$clu.err" in apply
    assert step4


# ---------------------------------------------------------------- items 5-7, 9


def test_malformed_kvp_item_is_skipped_not_the_vm(write_fixture: Write) -> None:
    host = fixture(write_fixture, vms=[{"name": "kvp", "extra": "    kvp_malformed: [OSName]\n"}])
    records = run_script(host, "discover", {"host": "h"})
    assert not [r for r in records if r["t"] == "error"]
    (vm,) = [r for r in records if r["t"] == "vm"]
    assert vm["os"] is None and vm["ic_version"] == "6.1.7601.17514" and vm["arch"] == "x64"
    guest = _function(render_script("discover", {"host": "h"}).text, "Get-HvGuest")
    try_at = guest.index("try {")
    assert try_at < guest.index("[xml]$item") < guest.index("} catch", try_at)


def test_collect_maps_names_to_guids_case_insensitively(write_fixture: Write) -> None:
    host = fixture(write_fixture, vms=[{"name": "Web"}, {"name": "WEB"}])
    records = run_script(host, "collect", {"host": "h", "samples": 1, "interval_s": 1})
    samples = [r for r in records if r["t"] == "sample"]
    assert [sorted(s["ids"]) for s in samples] == [sorted(v.id for v in host.vms)] * 2
    text = render_script("collect", {"host": "h", "samples": 1, "interval_s": 1}).text
    assert "Hashtable" not in text and "$ids = @{}" in text


def test_admission_uses_balancer_available_memory_not_free_physical(write_fixture: Write) -> None:
    vms = [{"name": "big", "startup": "1GB"},
           {"name": "fill", "startup": "10GB", "maximum": "10GB"}]
    # While big is off: balancer Available 14GB pool - 10GB = 4GB; FreePhysicalMemory
    # 16GB - 1GB the parent uses - 10GB = 5GB. The new startup, 5GB, fits only the latter.
    params_target = {"startup_mb": 5120, "minimum_mb": 5120, "maximum_mb": 5120}
    outcomes = {}
    for counters in ("true", "false"):
        host = fixture(write_fixture, f", balancer_counters: {counters}", vms)
        vm = host.vms[0]
        result = only_result(run_script(host, "apply", apply_params(vm, params_target)))
        outcomes[counters] = (result, host.free_mb(), host.free_physical_mb())
    with_counters, _, _ = outcomes["true"]
    assert with_counters["outcome"] == "failed"
    assert with_counters["message"].startswith("admission:")
    assert "previous settings restored" in with_counters["message"]
    assert with_counters["settings"]["startup_mb"] == 1024 and with_counters["state"] == 2
    # FreePhysicalMemory counts the unused parent reserve: the check passes, the start fails.
    fallback, free, physical = outcomes["false"]
    assert physical > free
    assert "32778" in (fallback["message"] or "") or fallback["code"] == 32778


def test_admission_keeps_new_settings_when_the_old_need_as_much(write_fixture: Write) -> None:
    host = fixture(write_fixture, vms=[{"name": "shrink", "startup": "2GB"}])
    vm = host.vms[0]
    params = apply_params(vm, {})
    expect = params["vms"][0]["expect"]
    target = {**expect, "startup_mb": 1024, "minimum_mb": 1024}
    host.total_mb = host.parent_reserve_mb + 512  # other VMs took the rest while it was off
    vm.state = 3
    outcome, message = admission(host, vm, params, expect, target, clustered=False)
    assert outcome == "failed" and message and "new settings kept" in message


def test_wmi_codes_unsigned_utc_deadlines_and_psbase_gettext() -> None:
    text = "".join(
        render_script(name, params).text
        for name, params in (
            ("apply", _apply_template_params()),
            ("discover", {"host": "h"}),
            ("collect", {"host": "h", "samples": 1, "interval_s": 1}),
        )
    )
    assert "(Get-Date)" not in text and "[DateTime]::UtcNow.AddSeconds(" in text
    assert not re.search(r"(?<!GetBytes\()\[int\]\$\w+(\.\w+)*\.(ReturnValue|ErrorCode)", text)
    assert "[uint32]$res.ReturnValue" in text and "[uint32]$job.ErrorCode" in text
    assert "[BitConverter]::ToUInt32(" in text
    assert "$m.PSBase.GetText(1)" in text and "$m.GetText(" not in text


# ---------------------------------------------------------------- helpers


def admission(*args: Any, **kwargs: Any) -> tuple[str | None, str | None]:
    """The simulator's step 6 re-check (imported late: the module is under test)."""
    from hvdyn.sim.apply import admission as step

    return step(*args, **kwargs)


def _apply_template_params() -> dict[str, Any]:
    current = settings()
    return {
        "host": "h", "job_timeout_s": 60, "shutdown_timeout_s": 60, "start_timeout_s": 60,
        "force_off": False,
        "vms": [{"id": "5EED0000-0000-0000-0000-000000000000", "name": "x", "expect_state": 2,
                 "expect": current, "target": settings(maximum_mb=8192), "offline": True,
                 "restart": True}],
    }


def _assert_namespace_checked_first(code: str, query: str) -> None:
    lines = code.splitlines()
    ns = [i for i, line in enumerate(lines)
          if "-Namespace root -Class __NAMESPACE" in line and "Name='MSCluster'" in line]
    assert ns, "no __NAMESPACE check for root\\MSCluster"
    assert ns[0] < lines.index(query)


def test_probe_cluster_check_reads_namespace_presence_not_error_code() -> None:
    text = render_script("probe", {"host": "h", "delivery": "stdin", "exit_code": 3}).text
    start = text.index("root\\MSCluster") - 400
    section = text[max(start, 0):]
    query = next(line for line in section.splitlines()
                 if "-Namespace root\\MSCluster" in line)
    _assert_namespace_checked_first(section, query)
    assert "2147749902" not in section
    assert "not a cluster node" in section


def _function(text: str, name: str) -> str:
    """The body of a PowerShell function in rendered wire text (up to the next function)."""
    start = text.index(f"function {name}")
    end = text.find("\nfunction ", start + 1)
    return text[start : end if end > 0 else len(text)]
