"""Rule evaluation: order, provenance, exclusion, every match key, Hyper-V couplings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvdyn.core.model import Provenance, VmState
from hvdyn.policy.evaluate import Policy

from .policy_helpers import host, vm, write_policy

BASE = """\
version: 1
defaults:
  dynamic: true
  startup: 1GB
  maximum: 8GB
  buffer: 20
  weight: 5000
"""


def test_defaults_apply_with_provenance(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, BASE)
    res = policy.resolve(vm(), host())
    assert res.desired is not None and res.error is None and not res.excluded
    d = res.desired
    assert d.get("startup_mb") == 1024
    assert d.get("maximum_mb") == 8192
    assert d.get("minimum_mb") == 1024  # Reservation = startup (SP1 Hyper-V Manager)
    assert d.get("buffer") == 20 and d.get("weight") == 5000 and d.get("dynamic") is True
    file = str(tmp_path / "policy.yaml")
    assert d.values["startup_mb"].provenance == Provenance(source="defaults", file=file, line=4)
    assert d.values["weight"].provenance.line == 7
    assert d.rules == ()


def test_rules_apply_in_file_order_later_wins(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        BASE
        + """\
rules:
  - name: first
    match: {vm: "web-*"}
    set: {buffer: 30, weight: 100}
  - name: second
    match: {vm: "web-0*"}
    set: {buffer: 40}
  - name: unrelated
    match: {vm: "db-*"}
    set: {buffer: 50}
""",
    )
    d = policy.resolve(vm("web-01"), host()).desired
    assert d is not None
    assert d.rules == ("first", "second")
    assert d.get("buffer") == 40
    assert d.values["buffer"].provenance.source == "second"
    assert d.values["buffer"].provenance.line == 14
    assert d.get("weight") == 100 and d.values["weight"].provenance.source == "first"
    assert d.values["startup_mb"].provenance.source == "defaults"
    d2 = policy.resolve(vm("web-11"), host()).desired
    assert d2 is not None and d2.rules == ("first",) and d2.get("buffer") == 30


def test_exclude_reports_index_and_line(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        BASE
        + """\
exclude:
  - {vm: "template-*"}
  - {state: saved}
""",
    )
    res = policy.resolve(vm("Template-W7"), host())
    assert res.excluded and res.desired is None
    assert res.excluded_by is not None
    assert (res.excluded_by.index, res.excluded_by.line) == (0, 9)
    res = policy.resolve(vm("w7", state=VmState.SAVED), host())
    assert res.excluded_by is not None and res.excluded_by.index == 1
    assert res.excluded_by.line == 10
    assert not policy.resolve(vm("w7"), host()).excluded


def _one_rule(tmp_path: Path, match: str) -> Policy:
    return write_policy(
        tmp_path,
        BASE + f"rules:\n  - name: r\n    match: {match}\n    set: {{weight: 1}}\n",
    )


@pytest.mark.parametrize(
    ("match", "vm_kwargs", "host_kwargs", "expected"),
    [
        ('{vm: "SQL-*"}', {"name": "sql-01"}, {}, True),  # case-insensitive glob
        ('{vm: "sql-*"}', {"name": "web-01"}, {}, False),
        ('{vm: ["a*", "b?"]}', {"name": "b1"}, {}, True),  # list = any of them
        ('{vm: ["a*", "b?"]}', {"name": "b12"}, {}, False),
        ('{vm: "sql-[0-4]*"}', {"name": "SQL-3x"}, {}, True),
        ('{vm_id: "11111111-2222-*"}', {}, {}, True),
        ('{vm_id: "{11111111-2222-3333-4444-555555555555}"}', {}, {}, True),
        ('{vm_id: "11111111-2222-3333-4444-55555555555A"}', {}, {}, False),
        ('{vm_id: "aaaaaaaa-*"}', {"id": "AAAAAAAA-0000-0000-0000-000000000000"}, {}, True),
        ('{host: "HV0*"}', {}, {"name": "hv01"}, True),
        ('{host: "hv1*"}', {}, {"name": "hv01"}, False),
        ("{group: vdi}", {}, {"groups": ("hyperv", "VDI")}, True),
        ("{group: [sql, vdi*]}", {}, {"groups": ("vdi-hosts",)}, True),
        ("{group: vdi}", {}, {"groups": ("vdi-hosts",)}, False),
        ("{group: vdi}", {}, {"groups": ()}, False),
        ('{os: "windows 7*"}', {"os": "Windows 7 Enterprise"}, {}, True),
        ('{os: "*Linux*"}', {"os": "Windows 7 Enterprise"}, {}, False),
        ("{state: running}", {"state": VmState.RUNNING}, {}, True),
        ("{state: off}", {"state": VmState.OFF}, {}, True),  # 'off' stays a string
        ("{state: [Off, paused]}", {"state": VmState.PAUSED}, {}, True),
        ("{state: running}", {"state": VmState.STARTING}, {}, False),
        ('{vm: "a*", host: hv01}', {"name": "a1"}, {"name": "hv01"}, True),
        ('{vm: "a*", host: hv02}', {"name": "a1"}, {"name": "hv01"}, False),  # all must hold
        ("{}", {"name": "anything"}, {}, True),  # empty match: every VM
    ],
)
def test_match_keys(
    tmp_path: Path,
    match: str,
    vm_kwargs: dict[str, object],
    host_kwargs: dict[str, object],
    expected: bool,
) -> None:
    policy = _one_rule(tmp_path, match)
    d = policy.resolve(vm(**vm_kwargs), host(**host_kwargs)).desired  # type: ignore[arg-type]
    assert d is not None
    assert (d.rules == ("r",)) is expected
    assert (d.get("weight") == 1) is expected


def test_static_vm_maximum_is_startup_and_buffer_weight_unmanaged(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        BASE
        + """\
rules:
  - name: sql-static
    match: {vm: "sql-*"}
    set: {dynamic: false, startup: 16GB}
""",
    )
    d = policy.resolve(vm("sql-01"), host()).desired
    assert d is not None
    assert d.get("dynamic") is False
    assert d.get("startup_mb") == 16384
    assert d.get("maximum_mb") == 16384  # Limit = VirtualQuantity; defaults' 8GB is moot
    assert d.get("minimum_mb") == 16384
    assert d.values["maximum_mb"].provenance.source == "sql-static"
    assert "buffer" not in d.values and "weight" not in d.values


def test_unmanaged_dynamic_uses_current_setting(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path, "version: 1\ndefaults: {startup: 2GB, maximum: 4GB, buffer: 5}\n"
    )
    d = policy.resolve(vm(dynamic=False, startup_mb=1024), host()).desired
    assert d is not None and "dynamic" not in d.values
    assert d.get("maximum_mb") == 2048 and d.get("buffer") is None
    d = policy.resolve(vm(dynamic=True), host()).desired
    assert d is not None and d.get("maximum_mb") == 4096 and d.get("buffer") == 5


def test_nothing_managed_means_empty_values(tmp_path: Path) -> None:
    d = write_policy(tmp_path, "version: 1\n").resolve(vm(), host()).desired
    assert d is not None and dict(d.values) == {}


def test_combination_startup_above_maximum_is_a_vm_error(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        BASE
        + """\
rules:
  - name: big-start
    match: {vm: "big*"}
    set: {startup: 6GB}
  - name: small-max
    match: {vm: "*small"}
    set: {maximum: 4GB}
""",
    )
    res = policy.resolve(vm("big-but-small"), host())
    assert res.desired is not None and res.error is not None
    assert "startup 6GB from big-start" in res.error
    assert "maximum 4GB from small-max" in res.error
    assert policy.resolve(vm("big-one"), host()).error is None


def test_startup_above_current_maximum_when_maximum_unmanaged(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\ndefaults: {startup: 8GB}\n")
    res = policy.resolve(vm(maximum_mb=4096), host())
    assert res.error is not None and "maximum 4GB from current" in res.error


def test_restart_from_rules(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        BASE
        + """\
rules:
  - name: lab
    match: {host: "lab*"}
    set: {}
    restart: allowed
  - name: prod-db
    match: {vm: "db*"}
    set: {}
    restart: never
""",
    )
    lab = policy.resolve(vm("web"), host("lab1"))
    assert lab.desired is not None
    assert lab.may_restart(False) and lab.restart == "allowed"
    db = policy.resolve(vm("db1"), host("lab1"))  # later rule wins
    assert db.desired is not None
    assert not db.may_restart(True) and db.restart == "never"
    plain = policy.resolve(vm("web"), host("prod"))
    assert plain.restart is None and not plain.may_restart(False) and plain.may_restart(True)


def test_policy_attributes(tmp_path: Path) -> None:
    text = BASE + "inventory: inv/hosts.yaml\nhost: {reserve: 4GB, max_overcommit: 1.5}\n"
    policy = write_policy(tmp_path, text)
    assert policy.inventory_path == (tmp_path / "inv" / "hosts.yaml").resolve()
    assert policy.host_reserve_mb == 4096 and policy.max_overcommit == 1.5
    import hashlib

    assert policy.digest == hashlib.sha256(text.encode()).hexdigest()
    bare = write_policy(tmp_path, "version: 1\n")
    assert bare.inventory_path is None and bare.host_reserve_mb == 2048
    assert bare.max_overcommit is None


def test_lab_example_loads() -> None:
    from hvdyn.policy.load import load_policy

    path = Path(__file__).parents[2] / "examples" / "lab.yaml"
    policy = load_policy(path)
    assert [r.name for r in policy.rules] == [
        "vdi-desktops",
        "sql-static",
        "no-dm-guests",
        "linux-static",
        "x86-clients",
    ]
    assert policy.rules[0].line == 19
    assert policy.inventory_path == (path.parent.parent / "inventories" / "lab.yaml").resolve()
    w7 = vm("w7-x86-01", os="Windows 7 Enterprise")
    d = policy.resolve(w7, host("hv01", ("vdi",))).desired
    assert d is not None and d.rules == ("vdi-desktops", "x86-clients")
    assert d.get("maximum_mb") == 4096 and d.get("startup_mb") == 512
    assert policy.resolve(vm("anything", state=VmState.SAVED), host()).excluded


def test_host_scoped_rules_are_worked_out_per_host(tmp_path: Path) -> None:
    """The per-host view of rules and excludes never leaks from one host to another."""
    policy = write_policy(
        tmp_path,
        """\
        version: 1
        defaults: {weight: 5000}
        rules:
          - name: vdi
            match: {group: vdi}
            set: {weight: 3000}
          - name: one-host
            match: {host: "hv02", vm: "app-*"}
            set: {weight: 100}
        exclude:
          - {host: hv03}
        """,
    )
    hosts = [host("hv01", ("vdi",)), host("hv02"), host("hv03"), host("hv01", ("vdi",))]
    weights = []
    for h in hosts:
        resolution = policy.resolve(vm("app-1"), h)
        weights.append(None if resolution.desired is None else resolution.desired.get("weight"))
    assert weights == [3000, 100, None, 3000]
    assert policy.resolve(vm("app-1"), host("hv01")).desired.get("weight") == 5000  # type: ignore[union-attr]


def test_vm_with_unknown_os_is_left_alone_when_a_rule_matches_on_os(tmp_path: Path) -> None:
    """An off VM reports no guest OS: planning it without the os rule would give it
    other values than it gets once it runs, so it is left alone, with the reason."""
    policy = write_policy(
        tmp_path,
        """\
        version: 1
        defaults: {weight: 5000}
        rules:
          - name: desktops
            match: {vm: "desk-*", os: "Windows 7*"}
            set: {weight: 3000}
        """,
    )
    off_desk = vm("desk-01", state=VmState.OFF, os=None)
    resolution = policy.resolve(off_desk, host())
    assert resolution.desired is None and resolution.excluded_by is None
    assert resolution.note is not None and "desktops match on os" in resolution.note
    # A VM the os rule could not match anyway (other name) is planned as usual.
    other = policy.resolve(vm("sql-01", state=VmState.OFF, os=None), host())
    assert other.desired is not None and other.desired.get("weight") == 5000
    # Running, with its OS reported, the rule applies.
    running = policy.resolve(vm("desk-01", os="Windows 7 Enterprise"), host())
    assert running.desired is not None and running.desired.get("weight") == 3000
