"""whatif on the simulated lab with collected history: the answers a user relies on."""

from __future__ import annotations

import random

from hvdyn.history.rows import from_epoch

from .conftest import LAB_POLICY, Lab

SHRINK_VDI = """
defaults: {dynamic: true, startup: 1GB, maximum: 8GB, buffer: 20, weight: 5000}
host: {reserve: 2GB}
rules:
  - name: vdi-too-small
    match: {group: vdi}
    set: {startup: 256MB, maximum: 512MB, buffer: 10}
"""

GENEROUS_VDI = """
defaults: {dynamic: true, startup: 512MB, maximum: 4GB, buffer: 20, weight: 5000}
host: {reserve: 2GB}
"""

HEAVY_STARTUPS = """
defaults: {dynamic: true, startup: 4GB, maximum: 8GB, buffer: 20, weight: 5000}
host: {reserve: 2GB}
"""


def _host(doc: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(h for h in doc["hosts"] if h["host"] == name)


def test_shrinking_vdi_maximums_below_recorded_peaks_puts_desktops_and_host_at_risk(
        lab: Lab) -> None:
    run = lab.hvdyn("whatif", lab.policy(SHRINK_VDI), "--limit", "hv-vdi-01", "--format", "json")
    assert run.exit_code == 2, run.stderr
    host = _host(run.json(), "hv-vdi-01")
    assert host["current"]["verdict"] == "fits"
    assert host["proposed"]["verdict"] == "at risk"
    assert any("above 100% pressure" in r for r in host["proposed"]["reasons"])
    # Desktops whose demand was recorded (they ran Dynamic Memory) now want more than 512MB.
    measured = [v for v in host["vms"] if v["demand_known"]]
    assert len(measured) >= 20
    starved = [v for v in measured if v["proposed"]["at_risk"]]
    assert len(starved) >= 0.9 * len(measured)
    for vm in starved:
        assert vm["proposed"]["settings"]["maximum_mb"] == 512
        assert vm["proposed"]["max_pressure"] > 100 >= vm["current"]["max_pressure"]
        assert vm["proposed"]["mean_assigned_mb"] <= 512


def test_generous_sizes_fit_and_exit_0(lab: Lab) -> None:
    run = lab.hvdyn("whatif", lab.policy(GENEROUS_VDI), "--limit", "hv-vdi-01")
    assert run.exit_code == 0, run.stdout
    assert "hv-vdi-01: fits -> fits" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1] == (
        "summary: 1 hosts replayed: 1 fit, 0 at risk, 0 do not fit; exit 0")


def test_startups_above_host_memory_do_not_fit_with_the_reason(lab: Lab) -> None:
    run = lab.hvdyn("whatif", lab.policy(HEAVY_STARTUPS), "--limit", "hv-vdi-01",
                    "--format", "json")
    assert run.exit_code == 2
    host = _host(run.json(), "hv-vdi-01")
    proposed = host["proposed"]
    assert proposed["verdict"] == "does not fit"
    # 40 desktops x 4GB + 2GB reserve > 128GB; the two sharing a display name (their
    # counters cannot be told apart) are not replayed but their startups still count.
    assert sorted(host["not_replayed"]) == ["desk-shared", "desk-shared"]
    assert proposed["startup_mb"] == 40 * 4096 > host["total_mb"] - 2048
    assert any("could not all start" in r for r in proposed["reasons"])


def test_trust_check_is_tight_on_history_the_simulators_balancer_produced(lab: Lab) -> None:
    doc = lab.hvdyn("whatif", LAB_POLICY, "--format", "json").json()
    for host in doc["hosts"]:
        trust = host["trust"]
        assert trust["fits"] and trust["compared"] > 0
        assert trust["p95_error_pct"] < 2.0, (host["host"], trust)


def test_trust_check_flags_history_the_model_does_not_explain(lab: Lab) -> None:
    rng = random.Random(7)
    keys = lab.rows("SELECT series, ts FROM samples WHERE current_pressure > 0 ORDER BY 1, 2")
    for series, ts in keys[::3]:  # a third of the samples get pressures off by up to 40%
        lab.sql("UPDATE samples SET current_pressure = CAST(current_pressure * ? AS INTEGER)"
                " WHERE series = ? AND ts = ?", (rng.uniform(0.6, 1.4), series, ts))
    run = lab.hvdyn("whatif", LAB_POLICY, "--limit", "hv-vdi-01", "--format", "json")
    trust = _host(run.json(), "hv-vdi-01")["trust"]
    assert not trust["fits"] and trust["p95_error_pct"] > 10.0
    text = lab.hvdyn("whatif", LAB_POLICY, "--limit", "hv-vdi-01").stdout
    assert "MODEL DOES NOT FIT THE RECORD" in text
    assert "the model does not fit the record on 1" in text.splitlines()[-1]


def test_gaps_and_restarts_are_found_and_said(lab: Lab) -> None:
    srv = "series IN (SELECT id FROM series WHERE host = 'hv-srv-01')"
    seconds = [r[0] for r in lab.rows(f"SELECT DISTINCT ts FROM samples WHERE {srv} ORDER BY 1")]
    ticks = [from_epoch(t) for t in seconds]
    # Nothing stored for 4 hours in the middle of the day: a gap.
    lab.sql(f"DELETE FROM samples WHERE {srv} AND ts > ? AND ts < ?", (seconds[10], seconds[19]))
    lab.sql("DELETE FROM balancer_samples WHERE host = 'hv-srv-01' AND ts > ? AND ts < ?",
            (ticks[10], ticks[19]))
    # app-01 was off for two hours later on, then ran again.
    lab.sql("DELETE FROM samples WHERE series IN (SELECT id FROM series WHERE"
            " host = 'hv-srv-01' AND vm_name = 'app-01') AND ts > ? AND ts < ?",
            (seconds[25], seconds[30]))
    host = _host(lab.hvdyn("whatif", LAB_POLICY, "--limit", "hv-srv-01", "--format",
                           "json").json(), "hv-srv-01")
    gaps = host["window"]["gaps"]
    assert [(g["after"], g["before"]) for g in gaps] == [(ticks[10], ticks[19])]
    assert gaps[0]["seconds"] == 9 * 1800
    app = next(v for v in host["vms"] if v["name"] == "app-01")
    assert app["restarts"] == 1 and app["running_samples"] == 48 - 8 - 4
    text = lab.hvdyn("whatif", LAB_POLICY, "--limit", "hv-srv-01").stdout
    assert "1 gaps" in text


def test_no_history_is_an_input_error_that_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = Lab(state=tmp_path / "state", tmp=tmp_path)
    run = empty.hvdyn("whatif", LAB_POLICY)
    assert run.exit_code == 3
    assert "run `hvdyn collect` first" in run.stderr


def test_json_schema_and_html_page(lab: Lab) -> None:
    doc = lab.hvdyn("whatif", LAB_POLICY, "--format", "json").json()
    assert doc["version"] == 1
    assert set(doc["summary"]) == {"hosts", "fits", "at_risk", "does_not_fit", "untrusted",
                                   "without_history", "exit_code"}
    host = doc["hosts"][0]
    assert set(host) == {"host", "window", "total_mb", "pool_measured", "not_replayed",
                         "trust", "current", "proposed", "vms"}
    assert host["pool_measured"] is True
    vm = host["vms"][0]
    assert set(vm["proposed"]) == {"settings", "p95_pressure", "max_pressure",
                                   "above_100_share", "mean_assigned_mb", "at_risk"}
    page = lab.tmp / "whatif.html"
    run = lab.hvdyn("whatif", LAB_POLICY, "--format", "html", "-o", page)
    assert run.exit_code == doc["summary"]["exit_code"]
    html = page.read_text()
    assert html.count("<section") == 3 and html.count("<svg") >= 3
    assert 'href="#host-0"' in html and "summary: 3 hosts replayed" in html


def test_lab_policy_shows_sql_made_static_below_its_peak(lab: Lab) -> None:
    """The lab policy pins sql-01 at 8GB static while its recorded demand went above 8GB."""
    doc = lab.hvdyn("whatif", LAB_POLICY, "--limit", "hv-srv-01", "--format", "json").json()
    sql = next(v for v in _host(doc, "hv-srv-01")["vms"] if v["name"] == "sql-01")
    assert sql["proposed"]["settings"] == {"dynamic": False, "startup_mb": 8192,
                                           "minimum_mb": 8192, "maximum_mb": 8192,
                                           "buffer": 20, "weight": 8000}
    assert sql["proposed"]["mean_assigned_mb"] == 8192
    assert sql["proposed"]["at_risk"] and not sql["current"]["at_risk"]
    assert sql["current"]["settings"]["dynamic"] is True  # a JSON boolean, not the store's 1


def test_recommend_then_whatif_workflow_from_the_readme(lab: Lab) -> None:
    """recommend --format yaml, pasted under a copy of the policy's rules, then whatif."""
    import yaml

    advice = lab.tmp / "advice.yaml"
    assert lab.hvdyn("recommend", "--since", "1d", "--format", "yaml", "-o", advice).exit_code == 0
    policy = yaml.safe_load(LAB_POLICY.read_text())
    policy["inventory"] = str(LAB_POLICY.parent / policy["inventory"])
    policy["rules"] += yaml.safe_load(advice.read_text())["rules"]
    path = lab.tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False, allow_unicode=True))
    assert lab.hvdyn("validate", path).exit_code == 0
    run = lab.hvdyn("whatif", path, "--since", "1d", "--format", "json")
    hosts = {h["host"]: h for h in run.json()["hosts"]}
    assert {h: v["proposed"]["verdict"] for h, v in hosts.items()} == {
        "hv-vdi-01": "fits", "hv-srv-01": "at risk", "hv-full-01": "at risk"}
    assert run.exit_code == 2
    # The lab policy keeps sql-* static, so the pasted startup (their quiet level) is all
    # they would get: whatif shows them starving at peak, which recommend alone cannot.
    starving = {v["name"] for v in hosts["hv-srv-01"]["vms"] if v["proposed"]["at_risk"]}
    assert starving == {"sql-01", "sql-02"}
    assert all(not v["proposed"]["settings"]["dynamic"] for v in hosts["hv-srv-01"]["vms"]
               if v["name"] in starving)
    assert lab.hvdyn("whatif", path, "--since", "1d", "--limit", "hv-vdi-01").exit_code == 0
