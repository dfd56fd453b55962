"""The Jinja environment: every output goes through ps_literal; unsafe constructs are refused."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from markupsafe import Markup

from hvdyn.core.errors import RenderError
from hvdyn.powershell import templates as render
from hvdyn.powershell.quoting import PSCode
from hvdyn.powershell.templates import (
    SCRIPT_NAMES,
    PSEnvironment,
    environment,
    render_script,
    strip_comment_lines,
    template_dir,
)

from .helpers import all_params, guid


def _env_with(tmp_path: Path, files: dict[str, str], *, wire: bool = False) -> jinja2.Environment:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    loader = (
        render._StrippingLoader(str(tmp_path)) if wire else jinja2.FileSystemLoader(str(tmp_path))
    )
    return PSEnvironment(loader)


BAD_TEMPLATES = {
    "macro.ps1.j2": "{% macro q(x) %}'{{ x }}'{% endmacro %}\n$a = 1\n",
    "call.ps1.j2": "{% call caller() %}raw{% endcall %}\n",
    "filter.ps1.j2": '{% filter replace("\'\'", "\'") %}{{ name }}{% endfilter %}\n',
    "nested.ps1.j2": (
        "{% if true %}{% for i in [1] %}{% filter upper %}x{% endfilter %}{% endfor %}{% endif %}\n"
    ),
}


@pytest.mark.parametrize("wire", [False, True])
@pytest.mark.parametrize("name", sorted(BAD_TEMPLATES))
def test_macro_call_and_filter_blocks_are_refused_at_load(
    tmp_path: Path, name: str, wire: bool
) -> None:
    env = _env_with(tmp_path, BAD_TEMPLATES, wire=wire)
    with pytest.raises(jinja2.TemplateSyntaxError, match="not allowed"):
        env.get_template(name)


def test_refused_in_an_included_template_too(tmp_path: Path) -> None:
    env = _env_with(
        tmp_path,
        {
            "main.ps1.j2": "$a = {{ x }}\n{% include 'inc.ps1.j2' %}\n",
            "inc.ps1.j2": BAD_TEMPLATES["macro.ps1.j2"],
        },
    )
    tpl = env.get_template("main.ps1.j2")
    with pytest.raises(jinja2.TemplateSyntaxError, match="Macro"):
        tpl.render(x=1)


def test_from_string_is_checked_as_well() -> None:
    with pytest.raises(jinja2.TemplateSyntaxError):
        environment().from_string(BAD_TEMPLATES["filter.ps1.j2"])


def test_safe_filter_does_not_exist() -> None:
    with pytest.raises(jinja2.TemplateAssertionError, match="safe"):
        environment().from_string("$a = {{ name|safe }}\n")


def test_markup_value_is_refused() -> None:
    tpl = environment().from_string("$a = {{ name }}\n")
    with pytest.raises(RenderError, match="Markup"):
        tpl.render(name=Markup("x'; Remove-Item C:\\ -Recurse; '"))


def test_values_become_typed_literals() -> None:
    tpl = environment().from_string(
        "$s = {{ s }}\n$i = {{ i }}\n$n = {{ n }}\n$b = {{ b }}\n"
        "$z = {{ z }}\n$l = {{ l }}\n$d = {{ d }}\n"
    )
    out = tpl.render(s="O'Brien\u2019s", i=5, n=-3, b=True, z=None, l=["a", 1], d={"k": False})
    assert out == (
        "$s = ('O''Brien' + [char]0x2019 + 's')\n$i = 5\n$n = (-3)\n$b = $true\n$z = $null\n"
        "$l = @('a', 1)\n$d = @{'k' = $false}\n"
    )


def test_concatenation_in_template_is_requoted() -> None:
    out = (
        environment()
        .from_string("Write-Output {{ name ~ '; Remove-Item C:\\\\ -Recurse' }}\n")
        .render(name="x")
    )
    assert out == "Write-Output 'x; Remove-Item C:\\ -Recurse'\n"


def test_strict_undefined_raises_on_a_typo() -> None:
    tpl = environment().from_string("$a = {{ params.hots }}\n")
    with pytest.raises(jinja2.UndefinedError):
        tpl.render(params={"host": "hv01"})


def test_object_values_are_refused() -> None:
    tpl = environment().from_string("$a = {{ x }}\n")
    with pytest.raises(RenderError):
        tpl.render(x=object())


def test_environment_is_built_once() -> None:
    assert environment() is environment()
    assert environment(review=True) is environment(review=True)
    assert environment() is not environment(review=True)


def test_settings() -> None:
    env = environment()
    assert env.finalize is not None
    assert env.autoescape is False
    assert env.undefined is jinja2.StrictUndefined
    assert env.keep_trailing_newline is True
    assert "safe" not in env.filters


def test_template_dir_is_the_checkout_templates_without_a_wheel() -> None:
    assert (template_dir() / "_prelude.ps1.j2").is_file()
    for name in SCRIPT_NAMES:
        assert (template_dir() / f"{name}.ps1.j2").is_file()


# ---------------------------------------------------------------- render_script input checks


def test_unknown_script_is_refused() -> None:
    with pytest.raises(RenderError, match="unknown script"):
        render_script("rollback", {})


def test_vm_id_must_be_a_guid() -> None:
    params = all_params(["web01"])["apply"]
    for bad in ["web01", guid(1) + "\n", guid(1) + "' OR Name LIKE '%", "{" + guid(1) + "}"]:
        params["vms"][0]["id"] = bad
        with pytest.raises(RenderError, match="not a GUID"):
            render_script("apply", params)


@pytest.mark.parametrize("sneaky", [PSCode("$(Stop-Computer)"), Markup("x"), b"bytes", 1j])
def test_params_must_be_plain_data(sneaky: object) -> None:
    params = all_params(["web01"])["apply"]
    params["vms"][0]["name"] = sneaky
    with pytest.raises(RenderError):
        render_script("apply", params)


def test_param_types_are_checked() -> None:
    params = all_params(["web01"])["collect"]
    params["samples"] = "3"
    with pytest.raises(RenderError, match="samples"):
        render_script("collect", params)
    params["samples"] = True
    with pytest.raises(RenderError, match="samples"):
        render_script("collect", params)


# ---------------------------------------------------------------- comment stripping rules


def test_strip_removes_comment_lines_blocks_blank_lines_and_indentation() -> None:
    src = "<#\nheader\n#>\n# line\n\n    $a = '#not'  \n  <# one-line #>\n$b = 2\n"
    assert strip_comment_lines(src) == "$a = '#not'  \n$b = 2\n"


def test_jinja_expression_in_a_comment_is_refused() -> None:
    with pytest.raises(jinja2.TemplateSyntaxError, match="comments"):
        strip_comment_lines("# VM {{ vm.name }}\n$a = 1\n")
    with pytest.raises(jinja2.TemplateSyntaxError, match="comments"):
        strip_comment_lines("<#\n{{ x }}\n#>\n")


def test_here_strings_are_refused_in_templates() -> None:
    with pytest.raises(jinja2.TemplateSyntaxError, match="here-string"):
        strip_comment_lines("$a = @'\n# looks like a comment\n'@\n")


def test_unterminated_block_comment_is_refused() -> None:
    with pytest.raises(jinja2.TemplateSyntaxError, match="unterminated"):
        strip_comment_lines("<#\nnever closed\n")
