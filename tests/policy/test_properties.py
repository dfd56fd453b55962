"""Property tests: size parsing round-trips; rule order = last matching setter wins."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hvdyn.core.model import MAX_VM_MEMORY_MB, parse_size_mb
from hvdyn.policy.schema import MIN_VM_MEMORY_MB

from .policy_helpers import host, vm, write_policy

even_mb = st.integers(MIN_VM_MEMORY_MB // 2, MAX_VM_MEMORY_MB // 2).map(lambda n: n * 2)


@given(even_mb, st.sampled_from(["MB", "MiB", "mb"]))
def test_mb_round_trip(mb: int, unit: str) -> None:
    assert parse_size_mb(f"{mb}{unit}") == mb


@given(st.integers(1, 64), st.sampled_from(["GB", "GiB"]), st.sampled_from(["", ".5", ".25"]))
def test_gb_forms(whole: int, unit: str, frac: str) -> None:
    text = f"{whole}{frac}{unit}"
    expected = whole * 1024 + {"": 0, ".5": 512, ".25": 256}[frac]
    assert parse_size_mb(text) == expected


@given(st.integers(0, 10**6), st.integers(1, 9))
def test_fractional_mb_is_refused(whole: int, tenth: int) -> None:
    try:
        parse_size_mb(f"{whole}.{tenth}MB")
    except ValueError as exc:
        assert "not a whole number of MB" in str(exc)
    else:
        raise AssertionError("fractional MB accepted")


rule_spec = st.tuples(
    st.booleans(), st.sampled_from([None, 5, 50, 500]), st.sampled_from([None, 0, 7, 9999])
)


@settings(max_examples=60, deadline=None)
@given(st.lists(rule_spec, max_size=6))
def test_last_matching_setter_wins(rules: list[tuple[bool, int | None, int | None]]) -> None:
    lines = ["version: 1", "defaults: {dynamic: true, buffer: 20, weight: 5000}", "rules:"]
    for i, (matches, buffer, weight) in enumerate(rules):
        sets = {k: v for k, v in (("buffer", buffer), ("weight", weight)) if v is not None}
        body = ", ".join(f"{k}: {v}" for k, v in sets.items())
        lines += [f"  - name: r{i}", f"    match: {{vm: {'hit' if matches else 'miss'}}}"]
        lines += [f"    set: {{{body}}}"]
    if not rules:
        lines.pop()
    with tempfile.TemporaryDirectory() as tmp:
        policy = write_policy(Path(tmp), "\n".join(lines) + "\n")
    d = policy.resolve(vm("hit"), host()).desired
    assert d is not None
    assert d.rules == tuple(f"r{i}" for i, r in enumerate(rules) if r[0])
    for field, col in (("buffer", 1), ("weight", 2)):
        expected, source = (20 if field == "buffer" else 5000), "defaults"
        for i, r in enumerate(rules):
            if r[0] and r[col] is not None:
                expected, source = r[col], f"r{i}"  # type: ignore[assignment]
        assert d.get(field) == expected
        assert d.values[field].provenance.source == source
