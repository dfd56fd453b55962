"""Every file in bad/ must fail to load with the error its `# expect:` line names.

The first error of a file must be exact: LINE:COL and key path, plus a
message fragment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdyn.core.errors import InputError, LocatedError, MultipleInputErrors
from hvdyn.policy.load import load_policy

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))


def _expectation(case: Path) -> tuple[str, str]:
    first = case.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{case.name}: first line must be '# expect: ...'"
    spec = first.removeprefix("# expect: ")
    line_col, key, fragment = spec.split(": ", 2)
    return f"{case}:{line_col}: {key}: ", fragment


def test_there_are_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_policy(case: Path) -> None:
    prefix, fragment = _expectation(case)
    with pytest.raises(InputError) as info:
        load_policy(case)
    exc = info.value
    errors = exc.errors if isinstance(exc, MultipleInputErrors) else [exc]
    assert all(isinstance(e, LocatedError) for e in errors)
    first = str(errors[0])
    assert first.startswith(prefix), f"{first!r} does not start with {prefix!r}"
    assert fragment in first.removeprefix(prefix)
