"""Rendered scripts: parse cleanly, keep data in literals; wire = review minus comments."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hvdyn.powershell.quoting import ps_string
from hvdyn.powershell.templates import SCRIPT_NAMES, render_script, template_dir

from ..psval.quote_oracle import ps_string_value
from .helpers import HOSTILE_NAMES, all_params, code_tokens, comments, syntax_problems

PARAMS = all_params()
FORMS = [False, True]


def _render(name: str, review: bool, params: dict[str, Any] | None = None) -> str:
    return render_script(name, PARAMS[name] if params is None else params, review=review).text


@pytest.mark.parametrize("review", FORMS, ids=["wire", "review"])
@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_parses_without_error_or_missing_nodes(name: str, review: bool) -> None:
    assert syntax_problems(_render(name, review)) == []


@pytest.mark.parametrize("vm_name", HOSTILE_NAMES, ids=lambda n: repr(n[:24]))
def test_each_hostile_name_alone_parses_and_stays_one_literal(vm_name: str) -> None:
    params = all_params([vm_name])["apply"]
    for review in FORMS:
        text = _render("apply", review, params)
        assert syntax_problems(text) == []
        literal = ps_string(vm_name)
        assert text.count(literal) == 1
        assert ps_string_value(text, text.index(literal)) == (
            vm_name, text.index(literal) + len(literal)
        )
        # The literal sits in the data prologue, before any code runs.
        assert text.index(literal) < text.index("$ErrorActionPreference")


def test_apply_with_no_vms_parses() -> None:
    params = all_params([])["apply"]
    assert params["vms"] == []
    for review in FORMS:
        assert syntax_problems(_render("apply", review, params)) == []


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_wire_form_has_no_comments_and_is_smaller(name: str) -> None:
    wire, review = _render(name, False), _render(name, True)
    assert comments(wire) == []
    assert comments(review), "review form keeps the header comment"
    assert len(wire.encode()) < len(review.encode())


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_stripping_changes_nothing_but_comments(name: str) -> None:
    assert code_tokens(_render(name, False)) == code_tokens(_render(name, True))


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_wire_form_has_no_blank_or_indented_lines_outside_data(name: str) -> None:
    # Only clean names here, so every line is template text.
    text = _render(name, False, all_params(["web01", "db01"])[name])
    for line in text.split("\n")[:-1]:
        assert line.strip(), "blank line in wire form"
        assert not line[0].isspace(), f"indented line in wire form: {line!r}"


@pytest.mark.parametrize("review", FORMS, ids=["wire", "review"])
@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_rendering_is_deterministic(name: str, review: bool) -> None:
    first = _render(name, review).encode()
    assert all(_render(name, review).encode() == first for _ in range(3))


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_lf_line_endings_outside_data(name: str) -> None:
    text = _render(name, False, all_params(["web01"])[name])
    assert "\r" not in text
    assert text.endswith("\n")


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_shape(name: str) -> None:
    script = render_script(name, PARAMS[name])
    assert script.name == name
    assert script.params is PARAMS[name]
    text = script.text
    assert text.startswith("$HvScript = " + ps_string(name) + "\n")
    assert "$ErrorActionPreference = 'Stop'" in text
    assert "$ProgressPreference = 'SilentlyContinue'" in text
    assert "Out-Hv 'begin' 'script' $HvScript 'ps' $HvPs" in text
    assert text.rstrip().endswith("Out-HvEnd\nexit $HvS.rc")


def test_every_template_opens_with_a_header_comment() -> None:
    for path in sorted(template_dir().glob("*.ps1.j2")):
        head = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert head == "<#", f"{path.name} must open with a <# purpose/inputs/records #> comment"


def test_data_enters_only_in_the_prologue() -> None:
    """Every {{ }} is above the prelude include; none sits inside quotes the template wrote."""
    for name in SCRIPT_NAMES:
        src = (template_dir() / f"{name}.ps1.j2").read_text(encoding="utf-8")
        head, _, body = src.partition("{% include '_prelude.ps1.j2' %}")
        assert body, name
        assert "{{" not in body, f"{name}: data after the prologue"
        for line in head.split("\n"):
            if "{{" in line:
                # Strip the expressions; what is left must hold no quote the template wrote.
                rest = re.sub(r"\{\{.*?\}\}", "", line)
                assert not re.search("['\"\u2018-\u201e]", rest), (
                    f"{name}: quoted expression: {line}"
                )
    prelude = (template_dir() / "_prelude.ps1.j2").read_text(encoding="utf-8")
    assert "{{" not in prelude


def test_vm_guid_is_regex_checked_before_any_wql_filter() -> None:
    prelude = (template_dir() / "_prelude.ps1.j2").read_text(encoding="utf-8")
    assert r"\z'" in prelude  # anchored at the very end, not before a trailing newline
    for fn in ("Get-HvVm", "Get-HvMem"):
        body = prelude.split(f"function {fn}(", 1)[1].split("\n}\n", 1)[0]
        assert body.index("-cmatch $HvGuidRe") < body.index("-Filter")


def test_json_writer_rules_are_documented_in_the_prelude() -> None:
    prelude = (template_dir() / "_prelude.ps1.j2").read_text(encoding="utf-8")
    rules = prelude.split("JSON writer rules", 1)[1].split("#>", 1)[0]
    for phrase in (
        "ASCII only",
        "\\uXXXX",
        "0x7E",
        "invariant culture",
        "null",
        "true/false",
        "OrderedDictionary",
        "surrogate",
    ):
        assert phrase in rules, phrase


def test_apply_prologue_carries_every_vm_in_plan_order() -> None:
    params = PARAMS["apply"]
    text = _render("apply", False)
    positions = [text.index(",@(" + ps_string(vm["id"])) for vm in params["vms"]]
    assert positions == sorted(positions)
    assert len(params["vms"]) == len(HOSTILE_NAMES)


def test_wire_sizes_stay_reasonable() -> None:
    """Guards against accidental growth; figures are reported in the render report."""
    one = len(_render("apply", False, all_params(["web01"])["apply"]).encode())
    many = len(
        _render("apply", False, all_params([f"vm{i:03d}" for i in range(200)])["apply"]).encode()
    )
    assert one < 14_000  # 13.2 KB since the locked-guest, cluster and admission steps
    assert (many - one) / 199 < 200  # bytes per extra VM
