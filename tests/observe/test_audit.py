"""Audit on hosts whose workloads are built to give known findings, in every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from hvdyn.history import open_store
from tests.runner import Hvdyn

from .conftest import DATA, INVENTORY, POLICY

EXPECTED = {
    ("HVD101", "hv-obs-01", "ok"),
    ("HVD102", "hv-obs-01", "lowmin"),
    ("HVD110", "hv-obs-01", "busy"),
    ("HVD111", "hv-obs-01", "starved"),
    ("HVD112", "hv-obs-01", "dup"),
    ("HVD140", "hv-obs-01", "w7pro"),
    ("HVD120", "hv-obs-02", None),
    ("HVD130", "hv-obs-02", None),
}


def _audit_json(hvdyn: Hvdyn, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    run = hvdyn("audit", POLICY, "--format", "json", *args)
    return run.exit_code, json.loads(run.stdout)


def test_known_workloads_give_known_findings(collected: Hvdyn, state: Path) -> None:
    code, doc = _audit_json(collected)
    assert code == 2
    found = {(f["id"], f["host"], f["vm"]) for f in doc["findings"]}
    assert found == EXPECTED
    severities = {f["id"]: f["severity"] for f in doc["findings"]}
    assert severities["HVD111"] == "error" and severities["HVD110"] == "warning"
    with open_store(state) as store:
        stored = store.audits(doc["run_id"])
        run = store.run(doc["run_id"])
    assert {(a.finding_id, a.host, a.vm_name) for a in stored} == EXPECTED
    assert run is not None and run.exit_code == 2 and run.policy_digest


def test_no_samples_gives_hvd150_and_drift_still_found(hvdyn: Hvdyn) -> None:
    code, doc = _audit_json(hvdyn)
    ids = {(f["id"], f["host"]) for f in doc["findings"]}
    assert ("HVD150", "hv-obs-01") in ids and ("HVD101", "hv-obs-01") in ids
    assert not any(f["id"] in ("HVD110", "HVD111", "HVD120") for f in doc["findings"])
    assert code == 2


def test_window_counts_back_from_newest_sample(collected: Hvdyn) -> None:
    # 10 minutes back from the newest sample still holds 11 samples: same health verdicts
    _, doc = _audit_json(collected, "--since", "10m")
    assert ("HVD111", "starved") in {(f["id"], f["vm"]) for f in doc["findings"]}
    assert all(h["window"][0] == "2026-01-05T00:38:00Z" for h in doc["hosts"]
               if h["host"] == "hv-obs-01")


def test_unreachable_host_exits_1(hvdyn: Hvdyn, tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text("all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n"
                   f"    gone: {{hvdyn_mock_fixture: {DATA / 'gone.yaml'}}}\n"
                   f"    hv-obs-02: {{hvdyn_mock_fixture: {DATA / 'obs-02.yaml'}}}\n")
    run = hvdyn("audit", POLICY, "-i", inv, "--format", "junit")
    assert run.exit_code == 1
    root = ET.fromstring(run.stdout)
    errors = root.findall(".//testcase/error")
    assert len(errors) == 1 and errors[0].get("type") == "HVD100"


def test_junit_one_case_per_vm_failures_for_drift_and_errors(collected: Hvdyn, tmp_path: Path
                                                             ) -> None:
    out = tmp_path / "audit.xml"
    run = collected("audit", POLICY, "--format", "junit", "-o", out)
    assert run.exit_code == 2 and run.stdout == ""
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"hv-obs-01", "hv-obs-02"}
    cases = {c.get("name").split(" [")[0]: c for c in suites["hv-obs-01"].findall("testcase")}
    assert set(cases) == {"(host)", "ok", "busy", "starved", "lowmin", "w7pro", "dup"}
    assert len(suites["hv-obs-01"].findall("testcase")) == 8  # both "dup" VMs
    failing = {n for n, c in cases.items() if c.find("failure") is not None}
    assert failing == {"ok", "lowmin", "starved", "w7pro"}  # drift + error findings
    assert "HVD110" in (cases["busy"].findtext("system-out") or "")  # warning: not a failure
    host_case = suites["hv-obs-02"].find("testcase[@name='(host)']")
    assert host_case is not None and host_case.find("failure").get("type") == "HVD130"
    assert root.get("failures") == str(sum(int(s.get("failures")) for s in suites.values()))
    assert root.get("tests") == "10"


def test_prometheus_textfile_parses(collected: Hvdyn, tmp_path: Path) -> None:
    out = tmp_path / "hvdyn.prom"
    assert collected("audit", POLICY, "--format", "prometheus", "-o", out).exit_code == 2
    assert out.stat().st_mode & 0o044  # node_exporter must be able to read it
    families = {f.name: f for f in text_string_to_metric_families(out.read_text())}
    findings = {(s.labels["host"], s.labels["id"]): s.value
                for s in families["hvdyn_audit_findings"].samples}
    assert findings[("hv-obs-01", "HVD111")] == 1
    pressure = {s.labels["vm"]: s.value
                for s in families["hvdyn_vm_average_pressure_percent"].samples}
    assert pressure["starved"] > 100 and pressure["ok"] < 85 and "dup" not in pressure
    drift = {s.labels["vm"]: s.value for s in families["hvdyn_vm_drift_settings"].samples}
    assert drift["ok"] == 1 and drift["busy"] == 0
    maximum = {s.labels["vm"]: s.value for s in families["hvdyn_vm_maximum_memory_bytes"].samples}
    assert maximum["busy"] == 2 * 1024**3
    ratio = {s.labels["host"]: s.value for s in families["hvdyn_host_overcommit_ratio"].samples}
    assert ratio["hv-obs-02"] == 1.0
    assert families["hvdyn_audit_exit_code"].samples[0].value == 2
    documented = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()
    assert all(name in documented for name in families)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for key, value in attrs:
            if key in ("src", "href") and value and not value.startswith("#"):
                self.external.append(value)  # links inside the page are fine


def test_html_is_self_contained_with_charts(collected: Hvdyn, tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    assert collected("audit", POLICY, "--format", "html", "-o", out).exit_code == 2
    text = out.read_text()
    parser = _Collect()
    parser.feed(text)
    assert parser.external == [] and "script" not in parser.tags
    svgs = [ET.fromstring(s[: s.index("</svg>") + 6]) for s in
            ["<svg" + p for p in text.split("<svg")[1:]]]
    ns = "{http://www.w3.org/2000/svg}"
    titles = [svg.findtext(f"{ns}title") or "" for svg in svgs]
    # per host: pressure and available memory, then per VM its small charts
    assert titles.count("hv-obs-01: average pressure per VM") == 1
    assert titles.count("hv-obs-02: balancer available memory") == 1
    pressure = svgs[titles.index("hv-obs-01: average pressure per VM")]
    names = {(g.get("data-name") or "").split(" (P95")[0] for g in pressure.iter(f"{ns}g")}
    assert {"ok", "busy", "starved"} <= names
    assert pressure.find(f".//{ns}line[@class='threshold']") is not None
    assert "starved" in text and "HVD111" in text
    assert "health window 24h back" in text and "day, 0:00:00" not in text


def test_table_output_and_exit(collected: Hvdyn) -> None:
    run = collected("audit", POLICY)
    assert run.exit_code == 2
    assert "HVD111" in run.stdout and "summary:" in run.stdout
    assert "HVD111 error: hv-obs-01/starved" in run.stderr


def test_limit_and_inventory_override(collected: Hvdyn) -> None:
    code, doc = _audit_json(collected, "-i", str(INVENTORY), "--limit", "hv-obs-02")
    assert [h["host"] for h in doc["hosts"]] == ["hv-obs-02"]
    assert {f["id"] for f in doc["findings"]} == {"HVD120", "HVD130"}
    assert code == 2
