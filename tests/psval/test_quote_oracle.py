"""ps_single_quote against the ScanStringLiteral port (and the port against known cases)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hvdyn.core.errors import RenderError
from hvdyn.powershell.quoting import ps_single_quote

from .quote_oracle import UnterminatedString, ps_scan_single_quoted

QUOTEY = (
    "'\u2018\u2019\u201a\u201b\"\u201c\u201d\u201e`$(){};|&\n\r#<>@-\u2013\u2014 a"
    "\u2028\xa0\U0001f600"
)

# Any text except NUL and lone surrogates (hypothesis' text() never yields surrogates
# by default; Cs is excluded explicitly for clarity).
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"))
quotey_text = st.text(alphabet=st.sampled_from(QUOTEY), max_size=40)


def naive_quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


# ---------------------------------------------------------------- the oracle itself


@pytest.mark.parametrize(
    ("src", "value", "end"),
    [
        ("'abc'", "abc", 5),
        ("'a''b'", "a'b", 6),
        ("'a\u2019\u2019b'", "a\u2019b", 6),
        ("'a'\u2018b'", "a\u2018b", 6),  # mixed pair: the second char is kept
        ("\u2018x\u2019 tail", "x", 3),  # any single quote opens/closes
        ("'$(x) `n \"y\"'", "$(x) `n \"y\"", 13),
        ("''", "", 2),
        ("'x\u2019; Remove-Item C:\\; \u2018", "x", 3),  # naive quoting's break-out
    ],
)
def test_oracle_known_cases(src: str, value: str, end: int) -> None:
    assert ps_scan_single_quoted(src, 0) == (value, end)


@pytest.mark.parametrize("src", ["'abc", "'a''", "'\u2019\u2019", "'"])
def test_oracle_unterminated(src: str) -> None:
    with pytest.raises(UnterminatedString):
        ps_scan_single_quoted(src, 0)


def test_oracle_requires_opening_quote() -> None:
    with pytest.raises(ValueError):
        ps_scan_single_quoted('"x"', 0)


# ---------------------------------------------------------------- ps_single_quote


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_round_trip_any_text(s: str) -> None:
    lit = ps_single_quote(s)
    assert ps_scan_single_quoted(lit, 0) == (s, len(lit))


@settings(max_examples=400, deadline=None)
@given(quotey_text)
def test_round_trip_quote_heavy(s: str) -> None:
    lit = ps_single_quote(s)
    assert ps_scan_single_quoted(lit, 0) == (s, len(lit))
    # and followed by more code, the literal still ends exactly where it should
    assert ps_scan_single_quoted(lit + "; Remove-Item x '", 0) == (s, len(lit))


@pytest.mark.parametrize(
    "s",
    ["x\u2019; Remove-Item C:\\ -Recurse; \u2018", "O\u2019Brien", "\u201alow\u201b",
     "\u2019'\u2018\u201a\u201b"],
)
def test_mutation_naive_quoting_fails_oracle(s: str) -> None:
    """The oracle is sharp: naive ASCII-only doubling is caught on Unicode quotes."""
    lit = naive_quote(s)
    assert ps_scan_single_quoted(lit, 0) != (s, len(lit))
    good = ps_single_quote(s)
    assert ps_scan_single_quoted(good, 0) == (s, len(good))


@settings(max_examples=300, deadline=None)
@given(quotey_text)
def test_mutation_naive_fails_whenever_unicode_quote_present(s: str) -> None:
    lit = naive_quote(s)
    ok = ps_scan_single_quoted(lit, 0) == (s, len(lit)) if _terminates(lit) else False
    assert ok == (not any(c in s for c in "\u2018\u2019\u201a\u201b"))


def _terminates(lit: str) -> bool:
    try:
        ps_scan_single_quoted(lit, 0)
    except UnterminatedString:
        return False
    return True


@pytest.mark.parametrize("bad", ["\0", "a\0b", "\ud800", "x\udfff", "\udc00\ud800"])
def test_nul_and_lone_surrogates_refused(bad: str) -> None:
    with pytest.raises(RenderError):
        ps_single_quote(bad)


# ---------------------------------------------------------------- ps_string (what scripts get)


@settings(max_examples=300, deadline=None)
@given(st.one_of(any_text, quotey_text))
def test_ps_string_is_ascii_and_reads_back_exactly(s: str) -> None:
    from hvdyn.powershell.quoting import ps_string

    from .quote_oracle import ps_string_value

    expr = ps_string(s)
    assert expr.isascii()
    src = expr + " tail"
    assert ps_string_value(src, 0) == (s, len(expr))
