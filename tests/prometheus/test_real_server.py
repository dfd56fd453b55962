"""A real Prometheus scrapes `hvdyn exporter` on the simulated lab; history read back from
it gives the same `recommend` and `report` as the SQLite store the exporter also wrote.

How the two sides hold the same points: the exporter shows each collected
sample for a whole interval (1 s) and Prometheus scrapes every 250 ms, so every
sample is scraped (the test checks the sample times are identical on both sides
before comparing). Rows read from Prometheus carry the host's sample time
(`hvdyn_sample_timestamp_seconds`), not the scrape time. To end the run with
the newest sample surely scraped, the hosts are then made unreachable: the
exporter keeps their last values with `hvdyn_up 0`, and once Prometheus has
scraped `hvdyn_up 0` for every host it has scraped the last sample too.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from hvdyn.history import open_store
from hvdyn.history.prometheus_source import PrometheusSource
from tests.runner import run_cli

from .servers import (
    DASHBOARD,
    REPO,
    http_get,
    need_binary,
    start_exporter,
    start_prometheus,
    wait_for,
)

pytestmark = pytest.mark.slow

SAMPLES = 32  # at a 150 s simulated step: 80 simulated minutes, enough for advice


def _lab_copy(tmp: Path) -> Path:
    """inventories/lab.yaml and its fixtures, in a directory the test may edit."""
    lab = tmp / "lab"
    shutil.copytree(REPO / "inventories" / "lab", lab / "lab")
    shutil.copy(REPO / "inventories" / "lab.yaml", lab / "lab.yaml")
    return lab / "lab.yaml"


def _take_hosts_down(inventory: Path) -> None:
    for fixture in sorted((inventory.parent / "lab").glob("*.yaml")):
        doc = yaml.safe_load(fixture.read_text())
        doc["faults"] = [{"op": "connect", "error": "unreachable"}]
        tmp = fixture.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        tmp.replace(fixture)


def _stored_times(state: Path) -> dict[str, list[str]]:
    with open_store(state) as store:
        return {host: sorted({s.ts for s in store.samples(host=host)})
                for host in store.sample_hosts()}


def _check_rules_and_dashboard(url: str) -> None:
    """The alerting rules load and evaluate; every dashboard query runs and finds series."""

    def rules() -> list[dict[str, Any]]:
        groups = http_get(url + "/api/v1/rules")["data"]["groups"]
        return [r for g in groups for r in g["rules"]]

    wait_for("HvdynCollectionFailing to be pending", lambda: any(
        r["name"] == "HvdynCollectionFailing" and r.get("state") in ("pending", "firing")
        for r in rules()), 60)
    assert rules() and all(r["health"] == "ok" for r in rules()), rules()
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", ()):
            expr = target["expr"].replace("$host", ".*").replace("$vm", ".*")
            answer = http_get(url + "/api/v1/query", {"query": expr})
            assert answer["status"] == "success", (panel["title"], expr)
            assert answer["data"]["result"], f"{panel['title']}: {expr} found nothing"


def _hvdyn(*args: str | Path) -> str:
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_recommend_and_report_from_prometheus_equal_the_store(tmp_path: Path) -> None:
    binary = need_binary("prometheus")
    inventory = _lab_copy(tmp_path)
    state = tmp_path / "state"
    prometheus = exporter = None
    try:
        exporter, address = start_exporter(tmp_path, state, inventory,
                                           "--interval", "1s", "--sim-step", "150s",
                                           "--policy", REPO / "examples" / "lab.yaml")
        prometheus, url = start_prometheus(binary, tmp_path, [address])
        wait_for("the first scrape", lambda: len(http_get(url + "/api/v1/query", {
            "query": "hvdyn_up"})["data"]["result"]) == 3, 60, prometheus.text)
        # samples collected before the first scrape may be missing from Prometheus
        first = {h: len(t) for h, t in _stored_times(state).items()}
        wait_for(f"{SAMPLES} more samples per host", lambda: len(times := _stored_times(state))
                 == 3 and all(len(t) >= first.get(h, 0) + SAMPLES for h, t in times.items()),
                 180, exporter.text)
        _take_hosts_down(inventory)

        def all_down() -> bool:
            data = http_get(url + "/api/v1/query", {"query": "hvdyn_up"})["data"]["result"]
            return len(data) == 3 and all(r["value"][1] == "0" for r in data)

        wait_for("prometheus to scrape hvdyn_up 0 for every host", all_down, 120,
                 exporter.text)
        _check_rules_and_dashboard(url)
        metrics = http_get(f"http://{address}/metrics")
        assert 'hvdyn_collection_failures_total{host="hv-vdi-01"}' in metrics
        assert "hvdyn_vm_assigned_memory_bytes{" in metrics  # last values kept while down
        assert exporter.stop() == 0, exporter.text()
        assert "stopped" in exporter.text()

        stored = _stored_times(state)
        source = PrometheusSource(url, lookback=timedelta(days=1))
        for host, times in stored.items():
            scraped = sorted({s.ts for s in source.samples(host=host)})
            missing = [t for t in times if t not in scraped]
            # only samples collected before Prometheus ran may be missing, and only at the start
            assert missing == times[:len(missing)], (host, missing)
            assert len(missing) <= first.get(host, 0) + 1, (host, missing)
            assert scraped == times[len(missing):]
        # compare over what both hold: the window back from the newest sample
        since = "70m"
        from_store = json.loads(_hvdyn("recommend", "--state-dir", state, "--since", since,
                                       "--format", "json"))
        from_prometheus = json.loads(_hvdyn("recommend", "--prometheus-url", url, "--since",
                                            since, "--format", "json"))
        # The store keeps settings as they change, so its `current.ts` is when the VM's
        # settings were first seen; Prometheus only knows the newest scrape that held them.
        for doc in (from_store, from_prometheus):
            for advice in doc["vms"]:
                if advice["current"] is not None:
                    advice["current"].pop("ts")
        assert from_prometheus == from_store
        advised = [a for a in from_store["vms"] if not a["refused"]]
        assert len(advised) >= 10, "the window should hold enough history for advice"
        svg_store = _hvdyn("report", "--state-dir", state, "--since", since,
                           "-o", tmp_path / "store.svg")
        assert svg_store == ""
        _hvdyn("report", "--prometheus-url", url, "--since", since, "-o", tmp_path / "prom.svg")
        assert (tmp_path / "prom.svg").read_text() == (tmp_path / "store.svg").read_text()

        def whatif(*source: str | Path) -> Any:
            # the lab's own inventory: the copy's fixtures were rewritten to take hosts down
            run = run_cli("whatif", REPO / "examples" / "lab.yaml", "-i",
                          REPO / "inventories" / "lab.yaml", "--since", since, "--format", "json",
                          *source)
            assert run.exit_code in (0, 2), run.output  # the lab has hosts at risk: 2
            return json.loads(run.stdout)

        # whatif replays the same recorded demand from either source
        from_store_whatif = whatif("--state-dir", state)
        assert from_store_whatif["summary"]["hosts"] == 3
        assert whatif("--prometheus-url", url, "--state-dir", state) == from_store_whatif

    finally:
        for proc in (exporter, prometheus):
            if proc is not None:
                proc.stop()
