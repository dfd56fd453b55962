"""Fixtures: the fake WS-Management endpoint and host specs pointing at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hvdyn.core.model import HostSpec
from hvdyn.transport import TransportContext

from .fake_wsman import FakeWsman
from .kdc import Realm, missing_binaries

PASSWORD = "S3cret!"


@pytest.fixture
def fake() -> Iterator[FakeWsman]:
    with FakeWsman() as server:
        yield server


@pytest.fixture
def ntlm_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The NTLM acceptor's credential store (NTLM_USER_FILE): hvadmin, local and HVLAB\\."""
    store = tmp_path / "ntlm-users"
    store.write_text(f":hvadmin:{PASSWORD}\nHVLAB:hvadmin:{PASSWORD}\n", encoding="utf-8")
    monkeypatch.setenv("NTLM_USER_FILE", str(store))
    return store


def spec_for(
    server: FakeWsman,
    *,
    scheme: str = "http",
    auth: str = "basic",
    user: str | None = "hvadmin",
    address: str = "127.0.0.1",
    port: int | None = None,
    **host_vars: Any,
) -> HostSpec:
    """A host spec for the fake on 127.0.0.1; basic auth (the fake's default) unless told."""
    merged: dict[str, Any] = {"hvdyn_operation_timeout_s": 2}
    if auth == "basic":
        merged["hvdyn_allow_unencrypted"] = True
    merged.update(host_vars)
    return HostSpec(
        name="hv-fake",
        address=address,
        port=server.port if port is None else port,
        scheme=scheme,
        user=user,
        auth=auth,
        password_env="HVDYN_TEST_FAKE_PASSWORD",
        vars=merged,
    )


def context_for(tmp_path: Path, password: str | None = PASSWORD) -> TransportContext:
    return TransportContext(state_dir=tmp_path, password_for=lambda spec: password)


@pytest.fixture(scope="session")
def kdc_realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    """One MIT KDC for the test session (Debian's krb5-kdc), on 127.0.0.1."""
    missing = missing_binaries()
    try:
        import gssapi  # noqa: F401  (hvdyn[kerberos])
        import krb5  # noqa: F401
    except ImportError as exc:
        missing.append(f"python: {exc.name}")
    if missing:
        reason = f"Kerberos test realm needs: {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (.ci/run installs them)")
        pytest.skip(reason)
    realm = Realm.start(tmp_path_factory.mktemp("kdc"))
    try:
        yield realm
    finally:
        realm.stop()


@pytest.fixture
def kdc(kdc_realm: Realm, monkeypatch: pytest.MonkeyPatch) -> Iterator[Realm]:
    """The realm, with this process's Kerberos confined to it and an empty private cache."""
    for key, value in kdc_realm.env.items():
        monkeypatch.setenv(key, value)
    kdc_realm.kdestroy()
    yield kdc_realm
    kdc_realm.kdestroy()
