"""Unit tests of the WMI tracker on small snippets (each binding path, good and misspelled)."""

from __future__ import annotations

import pytest

from .wmi import check_wmi, load_allowlist

NS = "-Namespace root\\virtualization"
GOOD_BAD = [
    # (snippet with {m} for the member, good member, misspelled member)
    (f"$vm = Get-WmiObject {NS} -Class Msvm_ComputerSystem\n$vm.{{m}}", "EnabledState",
     "EnabledStatus"),
    (f"$vms = @(Get-WmiObject {NS} -Class Msvm_ComputerSystem)\n"
     "foreach ($v in $vms) {{ $v.{m} }}",
     "ElementName", "ElementNme"),
    (f"Get-WmiObject {NS} -Class Msvm_ComputerSystem | Where-Object {{{{ $_.{{m}} -eq 2 }}}}",
     "EnabledState", "State"),
    ("$m = $vssd.GetRelated('Msvm_MemorySettingData') | Select-Object -First 1\n$m.{m} = 1",
     "Limit", "Limits"),
    (f"function Get-X($id) {{{{ Get-WmiObject {NS} -Class Msvm_MemorySettingData }}}}\n"
     "$x = Get-X 1\n$x.{m}", "Weight", "Wieght"),
    ("function Show($o) {{ $o.{m} }}\n"
     f"Show (Get-WmiObject {NS} -Class Msvm_ConcreteJob)", "JobState", "JobStat"),
    ("$job = [wmi]$r.Job\n$job.{m}", "ErrorDescription", "ErrorDescr"),
    (f"$s = Get-WmiObject {NS} -Class Msvm_ShutdownComponent\n"
     "$r = $s.InitiateShutdown($true, 'x')\n$r.{m}", "ReturnValue", "Job"),
    ("function P($class) {{ Get-WmiObject -Class $class }}\n"
     "foreach ($o in (P 'Win32_OperatingSystem')) {{ $o.{m} }}", "FreePhysicalMemory",
     "FreeMemory"),
]


@pytest.mark.parametrize(("snippet", "good", "bad"), GOOD_BAD)
def test_tracker_good_and_misspelled(snippet: str, good: str, bad: str) -> None:
    ok = check_wmi(snippet.format(m=good))
    assert not ok.findings, [str(f) for f in ok.findings]
    assert ok.members_checked, "tracker saw nothing"
    wrong = check_wmi(snippet.format(m=bad))
    assert [f.code for f in wrong.findings] == ["WMI002"], [str(f) for f in wrong.findings]


def test_unknown_class_reported() -> None:
    r = check_wmi(f"Get-WmiObject {NS} -Class Msvm_VirtualSystemManagementService2")
    assert [f.code for f in r.findings] == ["WMI001"]


def test_class_names_in_wql_and_strings_checked() -> None:
    r = check_wmi("$q = \"SELECT * FROM Msvm_ComputerSystm WHERE Name='x'\"")
    assert [f.code for f in r.findings] == ["WMI001"]


def test_class_names_in_comments_ignored() -> None:
    assert not check_wmi("# Msvm_Bogus\n$a = 1").findings


def test_member_enumeration_on_wmi_array() -> None:
    src = f"$vms = @(Get-WmiObject {NS} -Class Msvm_ComputerSystem)\n$n = $vms.Count\n$vms.Name"
    assert [f.code for f in check_wmi(src).findings] == ["WMI003"]


def test_allowlist_entries_all_have_known_sources() -> None:
    allow = load_allowlist()
    assert "msvm_memorysettingdata" in allow.classes
    props, _ = allow.classes["msvm_memorysettingdata"]
    assert {"targetmemorybuffer", "reservation", "limit", "virtualquantity", "weight",
            "dynamicmemoryenabled"} <= props
