"""Fixtures: the fake WS-Management endpoint and host specs pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hvdyn.model import HostSpec
from hvdyn.transport import TransportContext

from .fake_wsman import FakeWsman

PASSWORD = "S3cret!"


@pytest.fixture
def fake() -> Iterator[FakeWsman]:
    with FakeWsman() as server:
        yield server


def spec_for(server: FakeWsman, *, scheme: str = "http", **host_vars: Any) -> HostSpec:
    """A host spec for the fake: basic auth (the fake speaks only Basic) on 127.0.0.1."""
    merged: dict[str, Any] = {"hvdyn_allow_unencrypted": True, "hvdyn_operation_timeout_s": 2}
    merged.update(host_vars)
    return HostSpec(
        name="hv-fake",
        address="127.0.0.1",
        port=server.port,
        scheme=scheme,
        user="hvadmin",
        auth="basic",
        password_env="HVDYN_TEST_FAKE_PASSWORD",
        vars=merged,
    )


def context_for(tmp_path: Path, password: str | None = PASSWORD) -> TransportContext:
    return TransportContext(state_dir=tmp_path, password_for=lambda spec: password)
