"""Audit as JUnit XML: one test suite per host, one test case per VM.

CI servers and Jenkins/GitLab dashboards read JUnit; a VM case fails when it
has drift or an error-severity finding. Host-wide findings go to a case
named "(host)"; a host that could not be audited gets an <error>.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from hvdyn.analysis.audit import AuditReport
from hvdyn.analysis.audit.rules import HOST_FAILED
from hvdyn.core.findings import Finding
from hvdyn.formats.xmltext import xml_chars

HOST_CASE = "(host)"


def _case(suite: ET.Element, host: str, name: str, findings: list[Finding],
          *, error: str | None = None) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", classname=f"hvdyn.{host}", name=name, time="0")
    failing = [f for f in findings if f.fails]
    if error is not None:
        node = ET.SubElement(case, "error", message=error, type=HOST_FAILED.id)
        node.text = error
        return 0, 1
    if failing:
        first = failing[0]
        node = ET.SubElement(case, "failure", message=f"{first.id}: {first.message}",
                             type=first.id)
        node.text = "\n".join(f"{f.id} [{f.severity}] {f.message}\n  fix: {f.remediation}"
                              for f in failing)
    others = [f for f in findings if not f.fails]
    if others:
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(f"{f.id} [{f.severity}] {f.message}" for f in others)
    return (1 if failing else 0), 0


def _xml_safe(root: ET.Element) -> None:
    """Make every text and attribute of the tree something XML 1.0 can carry."""
    for node in root.iter():
        if node.text:
            node.text = xml_chars(node.text)
        for key, value in node.attrib.items():
            node.set(key, xml_chars(value))


def to_junit(report: AuditReport) -> str:
    root = ET.Element("testsuites", name="hvdyn audit")
    total = failures = errors = 0
    for host in report.hosts:
        suite = ET.SubElement(root, "testsuite", name=host.host)
        by_vm: dict[str | None, list[Finding]] = defaultdict(list)
        for f in report.findings:
            if f.host == host.host:
                by_vm[f.vm_id.upper() if f.vm_id else None].append(f)
        counts = [0, 0, 0]
        host_error = host.result.error if host.failed else None
        host_findings = [f for f in by_vm.get(None, []) if f.rule is not HOST_FAILED]
        fail, err = _case(suite, host.host, HOST_CASE, host_findings, error=host_error)
        counts = [1, fail, err]
        vms = host.facts.vms if host.facts is not None else ()
        for vm in sorted(vms, key=lambda v: (v.name.lower(), v.id)):
            fail, err = _case(suite, host.host, f"{vm.name} [{vm.id}]",
                              by_vm.get(vm.id.upper(), []))
            counts = [counts[0] + 1, counts[1] + fail, counts[2] + err]
        suite.set("tests", str(counts[0]))
        suite.set("failures", str(counts[1]))
        suite.set("errors", str(counts[2]))
        total, failures, errors = total + counts[0], failures + counts[1], errors + counts[2]
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    _xml_safe(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
