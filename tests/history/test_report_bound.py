"""report: a fleet gets an overview page; a host's page stays bounded for long windows."""

from __future__ import annotations

from pathlib import Path

from hvdyn.history import open_store
from tests.runner import run_cli

from .conftest import fill


def _report(state: Path, *args: str) -> str:
    result = run_cli("report", *args, state_dir=state, catch_exceptions=True)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_many_hosts_give_an_overview_and_one_host_its_vms(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        for h in range(7):
            fill(store, f"hv{h}", vms=3, steps=288 * 3, batch_steps=288, seed=h)
    overview = _report(tmp_path, "--since", "3d")
    assert "the overview only" in overview and overview.count("<tr>") == 1 + 7
    assert overview.count("<svg") == 7  # one small chart per host, no VM cards
    assert 'href="#' not in overview  # no links to sections that are not on the page
    host = _report(tmp_path, "--limit", "hv3", "--since", "3d")
    assert "the overview only" not in host and host.count('<div class="vm" id=') == 3
    across = _report(tmp_path, "--vm", "vm1", "--since", "3d")
    assert across.count("<section") == 7  # --vm asks for its VM on every host


def test_a_long_window_costs_no_more_than_its_buckets(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        fill(store, "hv0", vms=2, steps=288 * 10, batch_steps=288)
    week = _report(tmp_path, "--since", "7d")
    day = _report(tmp_path, "--since", "2d")
    # 7 days hourly (~170 points a line) is no bigger than 2 days of 5-minute samples (576)
    assert len(week) < len(day)
