"""Password resolution order and caching."""

from __future__ import annotations

import sys
import types

import pytest

from hvdyn.core.model import HostSpec
from hvdyn.inventory.credentials import make_password_resolver


def _spec(user: str = "CORP\\hvadmin", env: str | None = "HV_PW") -> HostSpec:
    return HostSpec(name="hv01", address="hv01", user=user, password_env=env)


def test_env_var_wins() -> None:
    resolve = make_password_resolver(True, prompt=lambda p: "prompted", environ={"HV_PW": "e"})
    assert resolve(_spec()) == "e"


def test_default_env_var_name() -> None:
    resolve = make_password_resolver(False, environ={"HVDYN_PASSWORD": "d"}, use_keyring=False)
    assert resolve(_spec(env=None)) == "d"


def test_prompt_once_per_user() -> None:
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return f"pw{len(prompts)}"

    resolve = make_password_resolver(True, prompt=prompt, environ={}, use_keyring=False)
    assert resolve(_spec()) == resolve(_spec()) == "pw1"
    assert resolve(_spec(user="other")) == "pw2"
    assert prompts == ["Password for CORP\\hvadmin: ", "Password for other: "]


def test_no_prompt_without_ask_pass() -> None:
    resolve = make_password_resolver(False, prompt=lambda p: pytest.fail("prompted"),
                                     environ={}, use_keyring=False)
    assert resolve(_spec()) is None


def test_keyring_before_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, user: f"{service}/{user}"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    resolve = make_password_resolver(True, prompt=lambda p: pytest.fail("prompted"), environ={})
    assert resolve(_spec()) == "hvdyn/CORP\\hvadmin"
