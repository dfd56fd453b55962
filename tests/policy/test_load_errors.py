"""All errors of a file come back at once, sorted, and never as a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdyn.core.errors import InputError, MultipleInputErrors, PolicyError
from hvdyn.policy.load import load_policy

from .policy_helpers import write_policy


def test_all_errors_reported_sorted(tmp_path: Path) -> None:
    with pytest.raises(MultipleInputErrors) as info:
        write_policy(
            tmp_path,
            """\
            version: 1
            defaults:
              startup: 1000
              buffer: 1
            rules:
              - name: a
                match: {colour: red}
                set: {weight: 20000}
            """,
        )
    errors = info.value.errors
    assert [(e.line, e.col, e.key) for e in errors] == [
        (3, 12, "defaults.startup"),
        (4, 11, "defaults.buffer"),
        (7, 13, "rules[0].match.colour"),
        (8, 19, "rules[0].set.weight"),
    ]
    assert all(isinstance(e, PolicyError) for e in errors)
    assert (
        str(info.value)
        .splitlines()[0]
        .endswith(
            "policy.yaml:3:12: defaults.startup: size 1000 has no unit (allowed: a whole, even "
            "number of MB with a unit (MB, GB, TB or MiB, GiB, TiB), e.g. 512MB, 1.5GB)"
        )
    )


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read") as caught:
        load_policy(tmp_path / "nope.yaml")
    # nothing was read: no FILE:1:1 and no <root> key to blame
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(PolicyError, match="the file is empty"):
        write_policy(tmp_path, text)


def test_merge_keys_and_anchors_work(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        """\
        version: 1
        defaults: &d {startup: 1GB, maximum: 2GB}
        rules:
          - name: a
            match: {vm: a}
            set: {<<: *d, buffer: 10}
        """,
    )
    assert policy.rules[0].values["startup_mb"].value == 1024
    assert policy.rules[0].values["buffer"].value == 10
