"""Fixture loading: schema, defaults, and errors located at the real line/column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hvdyn.core.errors import FixtureError
from hvdyn.sim import load_fixture
from hvdyn.sim.fixture import derived_id
from hvdyn.sim.state import OFF, RUNNING, SAVED, HostState


def error_of(write: Callable[..., Path], text: str) -> FixtureError:
    with pytest.raises(FixtureError) as info:
        load_fixture(write(text))
    return info.value


def test_small_fixture_loads(host: HostState) -> None:
    assert [vm.state for vm in host.vms] == [RUNNING, RUNNING, OFF, RUNNING, SAVED]
    dm = host.vms[0].memory
    assert (dm.virtual_quantity, dm.reservation, dm.limit) == (1024, 1024, 4096)
    static = host.vms[1].memory
    assert (static.virtual_quantity, static.reservation, static.limit) == (2048, 2048, 2048)
    assert host.vms[3].guest.ic_version is None
    assert host.vms[0].guest.ic_version == "6.1.7601.17514"
    assert host.registry_reserve_mb == 2048 and host.total_mb == 16384


def test_unknown_key_points_at_the_key(write_fixture: Callable[..., Path]) -> None:
    err = error_of(write_fixture, "host: {memory: 8GB}\nvms:\n  - name: a\n    memroy: {}\n")
    assert (err.line, err.col) == (4, 5)
    assert err.key == "vms[0].memroy"
    assert "unknown key" in err.message
    assert err.allowed is not None and "memory" in err.allowed


def test_size_without_unit(write_fixture: Callable[..., Path]) -> None:
    text = "host:\n  memory: 8GB\nvms:\n  - name: a\n    memory: {startup: 1024}\n"
    err = error_of(write_fixture, text)
    assert (err.line, err.key) == (5, "vms[0].memory.startup")
    assert err.col == 23
    assert "unit" in str(err)


def test_bad_state_lists_allowed(write_fixture: Callable[..., Path]) -> None:
    text = "host: {memory: 8GB}\nvms:\n  - name: a\n    state: sleeping\n"
    text += "    memory: {startup: 1GB}\n"
    err = error_of(write_fixture, text)
    assert (err.line, err.col, err.key) == (4, 12, "vms[0].state")
    assert err.allowed is not None and "running" in err.allowed and "saved" in err.allowed


def test_missing_required_key(write_fixture: Callable[..., Path]) -> None:
    err = error_of(write_fixture, "host: {reserve: 1GB}\nvms: []\n")
    assert err.key == "host.memory" and err.line == 1
    assert "missing" in err.message


def test_duplicate_key_rejected(write_fixture: Callable[..., Path]) -> None:
    err = error_of(write_fixture, "host: {memory: 8GB}\nhost: {memory: 4GB}\n")
    assert (err.line, err.key) == (2, "host")


def test_semantic_rules(write_fixture: Callable[..., Path]) -> None:
    err = error_of(
        write_fixture,
        "host: {memory: 8GB}\nvms:\n  - name: a\n"
        "    memory: {dynamic: true, startup: 2GB, maximum: 1GB}\n",
    )
    assert err.line == 4 and "maximum is below startup" in err.message
    err = error_of(
        write_fixture, "host: {memory: 8GB}\nvms:\n  - name: a\n    memory: {startup: 1025MB}\n"
    )
    assert "even" in err.message


def test_running_vms_must_fit(write_fixture: Callable[..., Path]) -> None:
    err = error_of(
        write_fixture,
        "host:\n  memory: 4GB\n  reserve: 1GB\nvms:\n  - name: a\n    memory: {startup: 4GB}\n",
    )
    assert (err.line, err.key) == (2, "host.memory")


def test_yaml_syntax_error_has_position(write_fixture: Callable[..., Path]) -> None:
    err = error_of(write_fixture, "host: {memory: 8GB\nvms: [\n")
    assert err.line >= 2


def test_off_is_a_state_not_a_boolean(write_fixture: Callable[..., Path]) -> None:
    text = "host: {memory: 8GB}\nvms:\n  - {name: a, state: off, memory: {startup: 1GB}}\n"
    host = load_fixture(write_fixture(text))
    assert host.vms[0].state == OFF


def test_ids_are_deterministic_and_hostile_names_kept(write_fixture: Callable[..., Path]) -> None:
    text = (
        "host: {memory: 8GB}\nseed: 7\nvms:\n"
        "  - {name: \"O'Brien's $(calc) \u2018x\u2019 B\u00fcro\", memory: {startup: 1GB}}\n"
        "  - {name: twin, memory: {startup: 1GB}}\n"
        "  - {name: twin, memory: {startup: 1GB}}\n"
    )
    a = load_fixture(write_fixture(text, "a.yaml"))
    b = load_fixture(write_fixture(text, "b.yaml"))
    assert [vm.id for vm in a.vms] == [vm.id for vm in b.vms]
    assert a.vms[1].id != a.vms[2].id
    assert a.vms[0].name == "O'Brien's $(calc) \u2018x\u2019 B\u00fcro"
    assert a.vms[1].id == derived_id("twin", 1, 7)


def test_faults_parse(write_fixture: Callable[..., Path]) -> None:
    host = load_fixture(write_fixture(
        "host: {memory: 8GB}\nfaults:\n  - {vm: a, op: modify, code: 32774, times: 1}\n"
        "  - {op: connect, error: unreachable}\n"
    ))
    assert [f.op for f in host.faults] == ["modify", "connect"]
    err = error_of(write_fixture, "host: {memory: 8GB}\nfaults:\n  - {op: connect}\n")
    assert err.line == 3


@pytest.mark.parametrize("name", ["hv-vdi-01", "hv-srv-01", "hv-full-01"])
def test_bundled_lab_fixtures_load(name: str) -> None:
    root = Path(__file__).resolve().parents[2] / "inventories" / "lab"
    host = load_fixture(root / f"{name}.yaml")
    assert host.vms


@pytest.mark.parametrize("fault", ["{op: edit, vm: a}", "{op: modify, vm: a, weight: 7777}",
                                   "{op: edit, vm: a, weight: 10001}"])
def test_edit_fault_needs_a_weight_and_only_it_has_one(write_fixture: Callable[..., Path],
                                                       fault: str) -> None:
    err = error_of(write_fixture, f"host: {{memory: 8GB}}\nvms: []\nfaults:\n  - {fault}\n")
    assert err.key is not None and err.key.startswith("faults[0]")
