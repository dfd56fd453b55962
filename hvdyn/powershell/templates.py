"""The Jinja environment that turns templates + params into PowerShell 2.0 scripts.

Every ``{{ expression }}`` goes through `quoting.ps_literal` (Jinja
``finalize``), so a value can only ever come out as one typed PowerShell
literal. The environment is strict: undefined names raise, ``|safe`` does not
exist, ``Markup`` values are refused, and templates using ``{% macro %}``,
``{% call %}`` or ``{% filter %}`` (the only output paths that bypass
``finalize``) are refused when loaded.

Two forms of each script are rendered from the same templates:

- **wire** (default): PowerShell comments, blank lines and indentation are
  removed from the *template source* before it is compiled. Data is substituted later, so no
  value can ever be touched by the stripping; see `strip_comment_lines` for
  the rules that make this safe for the template text itself.
- **review** (``review=True``): the template source as written, with comments.

Both forms use LF line endings (Jinja ``newline_sequence``); values keep their
own CR/LF inside their literals. LF is accepted by PowerShell 2.0 for
``-EncodedCommand``, ``[ScriptBlock]::Create`` and ``-File``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from markupsafe import Markup

from hvdyn.core.errors import RenderError
from hvdyn.core.model import Script
from hvdyn.powershell.quoting import PSCode, is_guid, ps_literal

# Runnable scripts (templates/<name>.ps1.j2). `rollback` is not separate: a
# rollback is an `apply` whose targets are the journaled "before" values.
SCRIPT_NAMES: tuple[str, ...] = ("discover", "apply", "collect", "ping", "probe")

TEMPLATE_SUFFIX = ".ps1.j2"
_FORBIDDEN_NODES = (nodes.Macro, nodes.CallBlock, nodes.FilterBlock)
# A here-string opener at the end of a line: its body could hold lines starting with '#'.
_HERE_STRING_OPEN = re.compile(r"""@['"\u2018-\u201e]\s*$""")

# Required params per script and the JSON types they must have (the contract with
# `hvdyn.powershell.params`).
_PARAM_TYPES: dict[str, dict[str, type | tuple[type, ...]]] = {
    "discover": {"host": str},
    "ping": {"host": str, "delivery": str},
    "probe": {"host": str, "delivery": str, "exit_code": int},
    "collect": {"host": str, "samples": int, "interval_s": int},
    "apply": {
        "host": str,
        "job_timeout_s": int,
        "shutdown_timeout_s": int,
        "start_timeout_s": int,
        "force_off": bool,
        "vms": list,
    },
}


def template_dir() -> Path:
    """`hvdyn/templates` in an installed wheel, else `<repo>/templates` in a checkout."""
    package = Path(__file__).resolve().parent.parent  # the `hvdyn` package
    packaged = package / "templates"
    if packaged.is_dir():
        return packaged
    return package.parent / "templates"


# ---------------------------------------------------------------- comment stripping


def strip_comment_lines(source: str, name: str | None = None) -> str:
    """Template source without PowerShell comment lines and blank lines.

    Only whole lines are removed: a line whose first non-blank text is ``#``,
    and ``<# ... #>`` blocks that start a line and end a line. Indentation is
    removed too (it is insignificant outside multi-line strings; trailing
    whitespace is kept, as it can matter after a backtick). This is safe
    because it runs on template source (data is substituted afterwards) and
    templates may not open here-strings, the only PowerShell construct whose
    body is naturally written as lines starting with ``#``. A comment line
    must not contain ``{{`` or ``{%``: data in a comment could end it.
    Trailing comments after code are not allowed in templates (a test parses
    the wire form and finds no comment nodes).
    """
    out: list[str] = []
    in_block = False
    for lineno, line in enumerate(source.split("\n"), start=1):
        text = line.strip()
        is_comment = in_block or text.startswith("#") or text.startswith("<#")
        if is_comment and ("{{" in text or "{%" in text):
            raise jinja2.TemplateSyntaxError(
                "Jinja expressions are not allowed in PowerShell comments", lineno, name
            )
        if _HERE_STRING_OPEN.search(line) and not is_comment:
            raise jinja2.TemplateSyntaxError(
                "here-strings are not allowed in templates (comment stripping)", lineno, name
            )
        if in_block:
            in_block = not text.endswith("#>")
            continue
        if text.startswith("<#"):
            in_block = not (len(text) >= 4 and text.endswith("#>"))
            continue
        if not text or text.startswith("#"):
            continue
        out.append(line.lstrip(" \t"))
    if in_block:
        raise jinja2.TemplateSyntaxError("unterminated <# comment block", len(out), name)
    return "\n".join(out) + "\n"


class _StrippingLoader(jinja2.FileSystemLoader):
    """FileSystemLoader that hands out comment-stripped source (wire form)."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        return strip_comment_lines(source, template), filename, uptodate


# ---------------------------------------------------------------- environment


# Sizes, counts and flags repeat across VMs; `typed` keeps 1 and True apart.
_cached_literal = lru_cache(maxsize=4096, typed=True)(ps_literal)
# What `getattr(d, name)` finds on a plain dict: its methods and dunders, never its keys.
_DICT_ATTRIBUTES = frozenset(dir(dict))


def _finalize(value: Any) -> PSCode:
    kind = type(value)
    if kind is int or kind is bool or value is None:  # exact types: never Undefined/Markup
        return _cached_literal(value)
    if kind is str:
        return ps_literal(value)
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError here
        raise RenderError("undefined value in template")
    if isinstance(value, Markup):
        raise RenderError("Markup (|safe) is not PowerShell; values are quoted, never trusted")
    return ps_literal(value)


class PSEnvironment(jinja2.Environment):
    """Jinja environment whose only output path is a typed PowerShell literal."""

    def __init__(self, loader: jinja2.BaseLoader | None = None) -> None:
        super().__init__(
            loader=loader,
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            finalize=_finalize,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            newline_sequence="\n",
            auto_reload=False,
        )
        self.filters.pop("safe", None)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`vm.expect.dynamic` on plain dict params: the key, without raising AttributeError.

        Jinja tries the attribute first and the key second; on an exact dict the
        attribute exists only for dict's own names, so looking the key up first for
        every other name gives the same value. Rendering a 40-VM apply script does
        this about 30 times per VM.
        """
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for bad in tree.find_all(_FORBIDDEN_NODES):
            raise jinja2.TemplateSyntaxError(
                f"{type(bad).__name__} is not allowed in PowerShell templates "
                "(its output would bypass quoting); use include",
                bad.lineno,
                name,
                filename,
            )
        return tree


@lru_cache(maxsize=2)
def _environment(review: bool) -> PSEnvironment:
    path = str(template_dir())
    loader = jinja2.FileSystemLoader(path) if review else _StrippingLoader(path)
    return PSEnvironment(loader)


def environment(review: bool = False) -> jinja2.Environment:
    """The cached environment (wire form by default; ``review=True`` keeps comments)."""
    return _environment(review)


# ---------------------------------------------------------------- rendering


# Exact types that need no further look (subclasses such as PSCode or Markup do).
_PLAIN_TYPES = frozenset({str, int, bool, float, type(None)})


def _is_plain_json(value: Any) -> bool:
    """Exact dicts (str keys), lists, tuples and plain scalars all the way down."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            if type(item) not in _PLAIN_TYPES and not _is_plain_json(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            if type(item) not in _PLAIN_TYPES and not _is_plain_json(item):
                return False
        return True
    return False


def _check_json_shaped(value: Any, path: str) -> None:
    """Params must be plain JSON-shaped data: no PSCode, Markup or objects.

    Runs once per rendered script over every VM's parameters, so plain dicts,
    lists and scalars of exact built-in types take a fast path (`_is_plain_json`,
    which builds no key paths); anything else (subclasses included) gets the
    full checks below, whose messages name the key path.
    """
    if _is_plain_json(value):
        return
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                break
            if type(item) not in _PLAIN_TYPES:
                _check_json_shaped(item, f"{path}.{key}")
        else:
            return
    elif kind is list or kind is tuple:
        for i, item in enumerate(value):
            if type(item) not in _PLAIN_TYPES:
                _check_json_shaped(item, f"{path}[{i}]")
        return
    _check_json_shaped_slow(value, path)


def _check_json_shaped_slow(value: Any, path: str) -> None:
    if isinstance(value, PSCode | Markup):
        raise RenderError(f"params{path}: {type(value).__name__} is not data; pass plain values")
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RenderError(f"params{path}: key {key!r} is not a str")
            _check_json_shaped(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json_shaped(item, f"{path}[{i}]")
        return
    raise RenderError(f"params{path}: refusing {type(value).__name__}")


def _check_params(name: str, params: Mapping[str, Any]) -> None:
    _check_json_shaped(params, "")
    for key, kind in _PARAM_TYPES[name].items():
        value = params.get(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise RenderError(f"{name} params: {key!r} must be {kind}, got {value!r}")
    for i, vm in enumerate(params.get("vms") or []):
        vm_id = vm.get("id") if isinstance(vm, Mapping) else None
        if not isinstance(vm_id, str) or not is_guid(vm_id):
            raise RenderError(f"{name} params: vms[{i}].id {vm_id!r} is not a GUID")


def render_script(name: str, params: Mapping[str, Any], *, review: bool = False) -> Script:
    """Render script `name` with `params` into a `Script` (wire form unless `review`)."""
    if name not in SCRIPT_NAMES:
        raise RenderError(f"unknown script {name!r} (known: {', '.join(SCRIPT_NAMES)})")
    _check_params(name, params)
    template = environment(review).get_template(name + TEMPLATE_SUFFIX)
    try:
        text = template.render(params=params, script_name=name)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"template {name}: {exc}") from exc
    if not text.isascii():
        # Contract: scripts are pure ASCII (quoting writes [char] pieces); a template must be too.
        raise RenderError(f"template {name}: rendered text is not pure ASCII")
    return Script(name=name, params=params, text=text)
