"""Every script hvdyn writes or sends is pure ASCII, and reads the same in any code page.

Windows PowerShell 2.0-5.1 reads a BOM-less script in the machine's ANSI
code page: UTF-8 bytes of a name like 'Тест' then hold 0x82/0x91/0x92,
which cp1252 and cp1251 map to quote characters PowerShell ends a literal
on. Here each rendered script is encoded as hvdyn writes it, decoded with
the code pages of Western, Cyrillic, Central European and Japanese hosts,
and the values PowerShell's own string scanner (tests/psval/quote_oracle)
reads back must be the intended names.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hvdyn.cli.commands.render import review_file_text
from hvdyn.powershell.templates import SCRIPT_NAMES, render_script

from ..psval.quote_oracle import ps_string_value
from .helpers import HOSTILE_NAMES, all_params, code_tokens, guid, syntax_problems

CODE_PAGES = ("cp1252", "cp1251", "cp1250", "cp932")
NON_ASCII_NAMES = [
    "\u0422\u0435\u0441\u0442",  # Тест
    "\u00d1",
    "\u00d1)); Stop-Computer; @(#",
    "\u0422\u0435\u0441\u0442')); Stop-Computer; @('",
    "caf\u00e9 \u00e4\u00f6\u00fc \u00df",
    "\u0391\u03b8\u03b7\u03bd\u03ac",  # Greek
    "\u4eee\u60f3\u30de\u30b7\u30f3",  # CJK
    "bidi \u202etxt.exe\u202c",
    "\u2018quoted\u2019 \u201ctoo\u201d \u2013 dash",
    "tab\there\x7f\x1b[31m",
]


def vm_names_in_apply(text: str, count: int) -> list[str]:
    """Each VM's name as PowerShell reads it from the apply data prologue."""
    names = []
    for i in range(count):
        marker = f",@('{guid(i)}', "
        at = text.index(marker) + len(marker)
        names.append(ps_string_value(text, at)[0])
    return names


def as_host_reads(data: bytes, code_page: str) -> str:
    """The text PowerShell gets from a file: BOM -> UTF-8, otherwise the ANSI code page."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    return data.decode(code_page, errors="replace")


def check_names(names: list[str], *, review: bool) -> None:
    params: dict[str, Any] = all_params(names)["apply"]
    text = render_script("apply", params, review=review).text
    assert text.isascii()
    # Wire: bytes are sent as UTF-8 and decoded by the bootstrap; the file
    # decoder and a hand run read the bytes as the host's ANSI code page.
    for code_page in CODE_PAGES:
        seen = as_host_reads(text.encode("utf-8"), code_page)
        assert seen == text
        assert vm_names_in_apply(seen, len(names)) == names, code_page


def test_every_rendered_script_is_ascii_for_hostile_names() -> None:
    names = HOSTILE_NAMES + NON_ASCII_NAMES
    for name in SCRIPT_NAMES:
        for review in (False, True):
            text = render_script(name, all_params(names)[name], review=review).text
            bad = sorted({c for c in text if not c.isascii()})
            assert not bad, f"{name} review={review}: {bad[:5]}"


def test_names_read_back_exactly_in_every_code_page() -> None:
    check_names(HOSTILE_NAMES + NON_ASCII_NAMES, review=False)
    check_names(NON_ASCII_NAMES, review=True)


def test_tokens_are_the_same_in_every_code_page_and_parse_cleanly() -> None:
    text = render_script("apply", all_params(NON_ASCII_NAMES)["apply"]).text
    want = code_tokens(text)
    assert syntax_problems(text) == []
    for code_page in CODE_PAGES:
        assert code_tokens(text.encode("utf-8").decode(code_page)) == want


def test_review_file_has_bom_crlf_and_ascii_body() -> None:
    names = [*NON_ASCII_NAMES, "line1\r\nRemove-Item C:\\ #"]
    script = render_script("apply", all_params(names)["apply"], review=True)
    vms = [(guid(i), n) for i, n in enumerate(names)]
    data = review_file_text(script.text, "hv\u202e01", vms).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    body = data[3:]
    assert body.isascii()
    assert b"\n" not in body.replace(b"\r\n", b"")  # CRLF only
    assert b"\r" not in body.replace(b"\r\n", b"")
    text = body.decode("ascii")
    # Header comment: names escaped, one line each; never a line that is code.
    header = text.split("\r\n")[: len(names) + 1]
    assert all(line.startswith("#") for line in header)
    assert "\\u202E" in header[0] and "\\u0422\\u0435" in header[1]
    assert vm_names_in_apply(text, len(names)) == names
    assert syntax_problems(text) == []


cyrillic = st.characters(min_codepoint=0x0400, max_codepoint=0x04FF)
latin1 = st.characters(min_codepoint=0x00A0, max_codepoint=0x00FF)
greek = st.characters(min_codepoint=0x0370, max_codepoint=0x03FF)
cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
quotes = st.sampled_from(list("'\"`$()#;@\u2018\u2019\u201a\u201b\u201c\u201d\r\n "))
name_text = st.text(alphabet=st.one_of(cyrillic, latin1, greek, cjk, quotes), max_size=24)


@settings(max_examples=60, deadline=None)
@given(st.lists(name_text, min_size=1, max_size=4))
def test_hypothesis_names_survive_every_code_page(names: list[str]) -> None:
    check_names(names, review=False)


def test_the_template_files_and_bootstraps_are_ascii() -> None:
    from hvdyn.powershell.templates import template_dir

    for path in sorted(template_dir().iterdir()):
        if path.suffix in (".j2", ".ps1"):
            assert path.read_bytes().isascii(), path.name


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
             max_size=4),
)
def test_review_header_never_leaves_a_comment(host: str, names: list[str]) -> None:
    """Control, bidi and line-break characters in host or VM names stay inside '#' lines."""
    vms = [(guid(i), n) for i, n in enumerate(names)]
    text = review_file_text("$x = 1\n", host, vms).removeprefix("\ufeff")
    lines = text.split("\r\n")
    assert text.isascii() and len(lines) == len(names) + 3  # header, VMs, code, final ""
    assert all(line.startswith("#") for line in lines[: len(names) + 1])
    assert lines[len(names) + 1] == "$x = 1"
