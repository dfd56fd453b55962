"""render: reviewable scripts, byte-identical across runs, no host changed."""

from __future__ import annotations

from pathlib import Path

from tests.runner import Hvdyn

from .helpers import LAB_POLICY


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_render_twice_gives_identical_files(hvdyn: Hvdyn, tmp_path: Path) -> None:
    first = hvdyn("render", LAB_POLICY, "-o", tmp_path / "a", "--allow-restart")
    second = hvdyn("render", LAB_POLICY, "-o", tmp_path / "b", "--allow-restart")
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert set(a) == {"hv-full-01.ps1", "hv-srv-01.ps1", "hv-vdi-01.ps1", "plan.json", "README.txt"}
    assert a == b
    script = a["hv-srv-01.ps1"].decode("utf-8-sig")
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


def test_render_output_is_ascii_with_bom_and_crlf(hvdyn: Hvdyn, tmp_path: Path) -> None:
    """Non-ASCII VM names: every file under -o is ASCII; scripts carry a BOM and CRLF."""
    (tmp_path / "hv.yaml").write_text(
        "host: {memory: 16GB}\nvms:\n"
        "  - {name: \"\u0422\u0435\u0441\u0442\", os: Windows Server 2008 R2 Enterprise,"
        " memory: {dynamic: true, startup: 1GB, maximum: 2GB}}\n"
        "  - {name: \"\u00d1)); Stop-Computer; @(#\u202e\", os: Windows Server 2008 R2 Enterprise,"
        " memory: {dynamic: true, startup: 1GB, maximum: 2GB}}\n",
        encoding="utf-8",
    )
    (tmp_path / "inv.yaml").write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n"
        "    hv-\u00e9: {hvdyn_mock_fixture: hv.yaml}\n",
        encoding="utf-8",
    )
    (tmp_path / "p\u00f6licy.yaml").write_text(
        "version: 1\ninventory: inv.yaml\ndefaults: {dynamic: true, startup: 1GB, maximum: 4GB}\n",
        encoding="utf-8",
    )
    run = hvdyn("render", tmp_path / "p\u00f6licy.yaml", "-o", tmp_path / "out", "--allow-restart")
    assert run.exit_code == 0, run.stderr
    out = files(tmp_path / "out")
    assert set(out) == {"hv-_.ps1", "plan.json", "README.txt"}
    for name, data in out.items():
        body = data.removeprefix(b"\xef\xbb\xbf")
        assert body.isascii(), name
        assert b"\n" not in body.replace(b"\r\n", b""), name
    assert out["hv-_.ps1"].startswith(b"\xef\xbb\xbf")
    assert b"[char]0x0422" in out["hv-_.ps1"] and b"\\u202E" in out["hv-_.ps1"]
    assert b"p\\u00F6licy.yaml" in out["README.txt"]


def test_render_gives_every_host_its_own_file(hvdyn: Hvdyn, tmp_path: Path) -> None:
    """Names that differ only in case or in unsafe characters, and very long ones, never share
    (or fail to make) a file: the scripts go to Windows, whose file names ignore case."""
    (tmp_path / "hv.yaml").write_text(
        "host: {memory: 16GB}\nvms:\n"
        "  - {name: a, os: Windows Server 2008 R2 Enterprise,"
        " memory: {dynamic: true, startup: 1GB, maximum: 2GB}}\n",
        encoding="utf-8",
    )
    hosts = ["HV1", "hv1", "hv-\u00e4", "hv-\u00f6", "h" * 300, "con"]
    (tmp_path / "inv.yaml").write_text(
        "all:\n  vars: {hvdyn_transport: mock}\n  hosts:\n"
        + "".join(f"    \"{h}\": {{hvdyn_mock_fixture: hv.yaml}}\n" for h in hosts),
        encoding="utf-8",
    )
    (tmp_path / "policy.yaml").write_text(
        "version: 1\ninventory: inv.yaml\ndefaults: {dynamic: true, startup: 1GB, maximum: 4GB}\n",
        encoding="utf-8",
    )
    run = hvdyn("render", tmp_path / "policy.yaml", "-o", tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    assert "Traceback" not in run.stderr
    scripts = [p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".ps1"]
    assert len({s.lower() for s in scripts}) == len(hosts), scripts
    assert all(len(s.encode()) <= 120 for s in scripts), scripts
    assert "con.ps1" not in {s.lower() for s in scripts}  # a DOS device name on Windows
    headers = {(tmp_path / "out" / s).read_bytes().split(b"\r\n", 1)[0] for s in scripts}
    assert len(headers) == len(hosts)  # each file holds its own host's script
    readme = (tmp_path / "out" / "README.txt").read_text(encoding="ascii")
    assert all(s in readme for s in scripts)
