"""render: reviewable scripts, byte-identical across runs, no host changed."""

from __future__ import annotations

from pathlib import Path

from .helpers import LAB_POLICY, Hvdyn


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_render_twice_gives_identical_files(hvdyn: Hvdyn, tmp_path: Path) -> None:
    first = hvdyn("render", LAB_POLICY, "-o", tmp_path / "a", "--allow-restart")
    second = hvdyn("render", LAB_POLICY, "-o", tmp_path / "b", "--allow-restart")
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert set(a) == {"hv-full-01.ps1", "hv-srv-01.ps1", "hv-vdi-01.ps1", "plan.json", "README.txt"}
    assert a == b
    script = a["hv-srv-01.ps1"].decode("utf-8")
    assert script.lstrip().startswith("<#") or script.lstrip().startswith("#")
    assert "sql-01" in script and "ModifyVirtualSystemResources" in script


def test_render_changes_nothing_on_the_hosts(hvdyn: Hvdyn, tmp_path: Path) -> None:
    before = hvdyn("plan", LAB_POLICY, "--format", "json").json()
    state = {p: p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file()}
    assert hvdyn("render", LAB_POLICY, "-o", tmp_path / "out", "--allow-restart").exit_code == 0
    after_state = {p: p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file()}
    assert after_state == state
    assert hvdyn("plan", LAB_POLICY, "--format", "json").json() == before


def test_snapshot_renders_the_same_scripts_without_host_contact(
    hvdyn: Hvdyn, tmp_path: Path
) -> None:
    snap = tmp_path / "snap.json"
    assert hvdyn("plan", LAB_POLICY, "--save-snapshot", snap).exit_code == 2
    live = hvdyn("render", LAB_POLICY, "-o", tmp_path / "live")
    # A different, empty state dir: the simulated hosts there would differ if contacted.
    offline = hvdyn(
        "render",
        LAB_POLICY,
        "-o",
        tmp_path / "snap",
        "--snapshot",
        snap,
        state_dir=tmp_path / "elsewhere",
    )
    assert live.exit_code == 0 and offline.exit_code == 0
    assert files(tmp_path / "live") == files(tmp_path / "snap")
    assert not (tmp_path / "elsewhere").exists()


def test_rendered_plan_json_matches_plan_output(hvdyn: Hvdyn, tmp_path: Path) -> None:
    import json

    hvdyn("render", LAB_POLICY, "-o", tmp_path / "out")
    rendered = json.loads((tmp_path / "out" / "plan.json").read_text(encoding="utf-8"))
    planned = hvdyn("plan", LAB_POLICY, "--format", "json").json()
    assert rendered["summary"] == planned["summary"]
