"""Static proof over every rendered script: valid PS 2.0, injection-proof, WMI-correct.

For every name in hvdyn.powershell.templates.SCRIPT_NAMES, a matrix of params with hostile VM
names is rendered in wire and review form and each result must have no
ERROR/MISSING node, no check_ps2 finding, no WMI allowlist finding, and pass the
canary render. Mutation tests show each check fails when its defect is planted.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import jinja2
import pytest

from hvdyn.core.errors import RenderError
from hvdyn.powershell import templates as render

from .psval.canary import canary_render, plant
from .psval.compat import check_ps2
from .psval.parse import parse, syntax_errors, walk
from .psval.wmi import check_wmi

HOSTILE_NAMES = [
    "x'; Remove-Item C:\\ -Recurse; '",
    "x\u2018; Stop-Computer; \u2018",
    "x\u2019; Stop-Computer; \u2019",
    "x\u201a; Stop-Computer; \u201a",
    "x\u201b; Stop-Computer; \u201b",
    'x"; Stop-Computer; "',
    "x\u201c; Stop-Computer; \u201c",
    "x\u201d$(Stop-Computer)\u201d",
    "x\u201e; Stop-Computer; \u201e",
    "$(Stop-Computer)${env:PATH}",
    "back`tick`",
    "cr\rlf\nboth\r\n",
    "#> <# comment",
    "\n'@\nStop-Computer\n@'\n",
    "en\u2013dash em\u2014dash \u2015bar -Force",
    "emoji \U0001f600 \U0001f4a5 astral",
    "O\u2019Brien\u2019s VM",
    "'",
    "",
    "\u2019'\u2018\u201a\u201b",
    "A" * 2048,
    "x" + "\u2019" * 700 + "'" * 700,
]
FIELDS = ("dynamic", "startup_mb", "minimum_mb", "maximum_mb", "buffer", "weight")
SETTINGS_A = dict(zip(FIELDS, (False, 1024, 1024, 1024, 20, 5000), strict=True))
SETTINGS_B = dict(zip(FIELDS, (True, 2048, 2048, 8192, 25, 7500), strict=True))


def guid(i: int) -> str:
    return f"6F1C1C5E-1D2B-4C3A-9F00-{i:012X}"


def vm(i: int, name: str, *, offline: bool, restart: bool, state: int = 2) -> dict[str, Any]:
    return {
        "id": guid(i), "name": name, "expect_state": state, "expect": dict(SETTINGS_A),
        "target": dict(SETTINGS_B), "offline": offline, "restart": restart,
    }


def apply_params(names: list[str], *, offline: bool, restart: bool, force_off: bool) -> dict:
    return {
        "host": "hv01'\u2019$(x)", "job_timeout_s": 300, "shutdown_timeout_s": 600,
        "start_timeout_s": 300, "force_off": force_off,
        "vms": [vm(i, n, offline=offline, restart=restart) for i, n in enumerate(names)],
    }


def params_matrix(name: str) -> list[tuple[str, dict[str, Any]]]:
    """(case id, params) for one script; every script name needs an entry here."""
    if name == "discover":
        return [(f"host{i}", {"host": h}) for i, h in enumerate([*HOSTILE_NAMES[:6], "hv01"])]
    if name == "ping":
        return [
            (f"host{i}", {"host": h, "delivery": d})
            for i, (h, d) in enumerate(zip(HOSTILE_NAMES[:3], ("stdin", "file", "x'\u2019"),
                                           strict=True))
        ]
    if name == "probe":
        return [
            (f"host{i}", {"host": h, "delivery": d, "exit_code": c})
            for i, (h, d, c) in enumerate(zip(HOSTILE_NAMES[:3], ("stdin", "file", "x'\u2019"),
                                              (0, 3, 255), strict=True))
        ]
    if name == "collect":
        return [
            (f"host{i}-s{s}", {"host": h, "samples": s, "interval_s": 1})
            for i, (h, s) in enumerate(zip(HOSTILE_NAMES[:4], (0, 1, 3, 2), strict=True))
        ]
    if name == "apply":
        out = []
        for count, offline, restart, force in itertools.product(
            (0, 1, 3), (False, True), (False, True), (False, True)
        ):
            names = [HOSTILE_NAMES[(count * 7 + k) % len(HOSTILE_NAMES)] for k in range(count)]
            out.append((
                f"vms{count}-off{int(offline)}-rs{int(restart)}-force{int(force)}",
                apply_params(names, offline=offline, restart=restart, force_off=force),
            ))
        out.append(("all-hostile", apply_params(HOSTILE_NAMES, offline=True, restart=True,
                                                force_off=True)))
        return out
    raise AssertionError(f"no params matrix for script {name!r}: add one to test_ps_static.py")


CASES = [
    (name, case, params, review)
    for name in render.SCRIPT_NAMES
    for case, params in params_matrix(name)
    for review in (False, True)
]


def keep_ids(path: str, value: str) -> bool:
    # VM ids must be GUIDs (render refuses anything else); everything else gets a canary
    return path.endswith(".id")


def assert_static_clean(text: str) -> None:
    p = parse(text)
    errs = syntax_errors(p)
    assert not errs, [str(e) for e in errs]
    assert not any(n.is_missing or n.is_error for n in walk(p.root))
    findings = check_ps2(p)
    assert not findings, [str(f) for f in findings]
    wmi = check_wmi(p)
    assert not wmi.findings, [str(f) for f in wmi.findings]


@pytest.mark.parametrize(
    ("name", "case", "params", "review"),
    CASES,
    ids=[f"{n}-{c}-{'review' if r else 'wire'}" for n, c, _, r in CASES],
)
def test_rendered_script_is_clean_ps2(name: str, case: str, params: dict, review: bool) -> None:
    text = render.render_script(name, params, review=review).text
    assert_static_clean(text)
    # the hostile names never create a command of their own
    p = parse(text)
    commands = {p.node_text(n).lower() for n in walk(p.root) if n.type == "command_name"}
    assert not commands & {"stop-computer", "remove-item"}
    report = canary_render(
        lambda prm: render.render_script(name, prm, review=review).text, params, keep_ids
    )
    assert not report.leaked, report.leaked
    if name == "apply" and params["vms"]:
        assert any(path.endswith(".name") for path in report.isolated)


@pytest.mark.parametrize("name", render.SCRIPT_NAMES)
def test_every_script_has_a_matrix(name: str) -> None:
    assert params_matrix(name)


@pytest.mark.parametrize("bad", ["nul\0name", "lone\ud800surrogate"])
def test_nul_and_lone_surrogate_refused(bad: str) -> None:
    with pytest.raises(RenderError):
        render.render_script("apply", apply_params([bad], offline=True, restart=True,
                                                   force_off=False))
    with pytest.raises(RenderError):
        render.render_script("discover", {"host": bad})


@pytest.mark.parametrize("path", sorted(Path(render.template_dir()).glob("*.ps1")))
def test_static_ps1_files_are_clean_ps2(path: Path) -> None:
    assert_static_clean(path.read_text(encoding="utf-8-sig"))


# ---------------------------------------------------------------- mutation tests


def _apply_text(review: bool = False) -> str:
    return render.render_script(
        "apply", apply_params(["web01"], offline=True, restart=True, force_off=False),
        review=review,
    ).text


def _plant(text: str, snippet: str) -> str:
    """Insert a statement before the final `exit` line (a top-level statement boundary)."""
    head, sep, tail = text.rpartition("\nexit ")
    assert sep, "rendered script has no final exit line"
    return head + "\n" + snippet + sep + tail


@pytest.mark.parametrize(
    ("snippet", "code"),
    [
        ("$j = $HvVms | ConvertTo-Json", "PS3001"),
        ("$o = [pscustomobject]@{}", "PS3003"),
        ("if ($id -in $HvVms) { $null }", "PS3004"),
        ("$x = Get-VM -Name 'web01'", "PS3001"),
        ("Set-VMMemory -VMName 'web01' -DynamicMemoryEnabled $true", "PS3001"),
        ("$h = [ordered]@{}", "PS3003"),
        ("$HvVms | Where-Object Count -gt 1", "PS3012"),
        ("iex 'Stop-Computer'", "PS9001"),
        ("Get-Process *> $null", "PS3010"),
        ("$a = $PSItem", "PS3006"),
    ],
)
def test_mutation_planted_construct_caught(snippet: str, code: str) -> None:
    text = _apply_text()
    assert not check_ps2(text)
    mutated = _plant(text, snippet)
    assert code in [f.code for f in check_ps2(mutated)]
    with pytest.raises(AssertionError):
        assert_static_clean(mutated)


def _render_with(env: jinja2.Environment, name: str, params: dict) -> str:
    return env.get_template(name + render.TEMPLATE_SUFFIX).render(params=params, script_name=name)


@pytest.mark.parametrize("review", [False, True])
def test_harness_matches_render_script(review: bool) -> None:
    params = apply_params(HOSTILE_NAMES[:5], offline=True, restart=True, force_off=True)
    env = render.environment(review)
    assert _render_with(env, "apply", params) == render.render_script(
        "apply", params, review=review).text


@pytest.mark.parametrize("name", render.SCRIPT_NAMES)
def test_mutation_unquoted_values_caught(name: str) -> None:
    """finalize replaced by str: values come out raw; the canary render must notice."""
    env = render.environment(False).overlay(finalize=str)
    params = params_matrix(name)[-1][1]
    report = canary_render(lambda prm: _render_with(env, name, prm), params, keep_ids)
    assert report.leaked, "canary render did not notice raw values"


def test_mutation_unquoted_value_structure_breaks() -> None:
    env = render.environment(False).overlay(finalize=str)
    raw = _render_with(env, "discover", {"host": "1; Stop-Computer"})
    p = parse(raw)
    assert "Stop-Computer" in [p.node_text(n) for n in walk(p.root) if n.type == "command_name"]


@pytest.mark.parametrize(
    "body",
    [
        "Write-Output 'Name: {{ x }}'\n",
        "$f = \"ElementName='{{ x }}'\"\n",
        "$f = 'a{{ x }}'\n",
        "# {{ x }}\n$a = 1\n",
    ],
)
def test_planted_bad_template_caught_by_canary(tmp_path: Path, body: str) -> None:
    (tmp_path / "bad.ps1.j2").write_text(body, encoding="utf-8")
    env = render.PSEnvironment(jinja2.FileSystemLoader(str(tmp_path)))
    report = canary_render(lambda prm: env.get_template("bad.ps1.j2").render(**prm), {"x": "v"})
    assert report.leaked == ["x"]


def test_good_template_passes_canary(tmp_path: Path) -> None:
    (tmp_path / "good.ps1.j2").write_text("$n = {{ x }}\nWrite-Output ('Name: ' + $n)\n")
    env = render.PSEnvironment(jinja2.FileSystemLoader(str(tmp_path)))
    report = canary_render(lambda prm: env.get_template("good.ps1.j2").render(**prm), {"x": "v"})
    assert report.isolated == ["x"] and not report.leaked


def test_canary_shape() -> None:
    plan = plant({"a": ["s", 1, {"b": "t"}], "n": 2})
    assert plan.paths == {1: "a[0]", 2: "a[2].b"}
    text = plan.params["a"][0]
    assert not any(c.isalpha() for c in text)
    for needle in ("'", "\u2019", '"', "\u201c", "$(", "`", "#", "\n"):
        assert needle in text


# ---------------------------------------------------------------- WMI conformance


def test_wmi_tracking_reaches_the_real_templates() -> None:
    """Guard against the tracker silently seeing nothing (which would pass everything)."""
    checked = set(check_wmi(parse(_apply_text())).members_checked)
    for pair in [
        ("msvm_memorysettingdata", "TargetMemoryBuffer"),
        ("msvm_memorysettingdata", "DynamicMemoryEnabled"),
        ("msvm_computersystem", "EnabledState"),
        ("msvm_concretejob", "JobState"),
        ("msvm_virtualsystemmanagementservice", "ModifyVirtualSystemResources"),
    ]:
        assert pair in checked, pair
    for name in render.SCRIPT_NAMES:
        text = render.render_script(name, params_matrix(name)[0][1]).text
        assert check_wmi(text).members_checked, name


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("TargetMemoryBuffer", "TargetMemoryBufer", "WMI002"),
        ("$m.Reservation", "$m.Reservaton", "WMI002"),
        (".EnabledState", ".EnabledStat", "WMI002"),
        ("$job.JobState", "$job.JobStatus", "WMI002"),
        ("ModifyVirtualSystemResources(", "ModifyVirtualSystemResource(", "WMI002"),
        (".ReturnValue", ".ReturnCode", "WMI002"),
        ("Msvm_MemorySettingData", "Msvm_MemorySetingData", "WMI001"),
        ("Msvm_ShutdownComponent", "Msvm_ShutDownComponents", "WMI001"),
    ],
)
def test_mutation_misspelled_wmi_member_caught(old: str, new: str, code: str) -> None:
    text = _apply_text()
    assert not check_wmi(text).findings
    assert old in text
    mutated = text.replace(old, new)
    codes = [f.code for f in check_wmi(mutated).findings]
    assert code in codes, codes
