"""What several commands share: loading the policy and hosts, building transports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hvdyn.core.errors import InputError, LocatedError
from hvdyn.core.model import HostSpec
from hvdyn.inventory import load_inventory, select_hosts
from hvdyn.inventory.credentials import make_password_resolver
from hvdyn.policy.evaluate import Policy
from hvdyn.policy.load import load_policy
from hvdyn.transport import Transport, TransportContext, transport_class


@dataclass(frozen=True, slots=True)
class Targets:
    policy: Policy
    inventory_path: Path
    hosts: list[HostSpec]


def inventory_for(policy: Policy | None, override: Path | None) -> Path:
    """`-i` wins; else the policy's `inventory:`; else it is an input error."""
    if override is not None:
        return override
    if policy is not None and policy.inventory_path is not None:
        return policy.inventory_path
    if policy is not None:  # located, like every other problem of a policy file
        raise policy.inventory_error(
            "no inventory: pass -i/--inventory or set `inventory:` in the policy")
    raise InputError("no inventory: pass -i/--inventory or set `inventory:` in the policy")


def load_targets(policy_path: Path, inventory: Path | None, limit: str | None) -> Targets:
    policy = load_policy(policy_path)
    inventory_path = inventory_for(policy, inventory)
    try:
        loaded = load_inventory(inventory_path)
    except LocatedError as exc:
        if inventory is not None or exc.line > 0:
            raise
        # The policy's `inventory:` names a file hvdyn cannot read: point at that key.
        raise policy.inventory_error(f"{exc.file}: {exc.message}") from None
    hosts = check_fixtures(select_hosts(loaded, limit))
    return Targets(policy=policy, inventory_path=inventory_path, hosts=hosts)


def load_hosts(inventory: Path | None, limit: str | None) -> list[HostSpec]:
    """Hosts for commands that take no policy (collect, ping, sim reset)."""
    if inventory is None:
        raise InputError("no inventory: pass -i/--inventory (this command takes no policy)")
    return check_fixtures(select_hosts(load_inventory(inventory), limit))


def check_fixtures(hosts: list[HostSpec]) -> list[HostSpec]:
    """Load the fixture of every selected simulated host once; a bad one is exit 3.

    A fixture is input like the policy and the inventory: its errors must stop
    validate, plan and apply alike before any host is contacted, not show up
    later as a failed host (exit 1).
    """
    fixtures = {str(h.mock_fixture): h.name for h in hosts if h.transport == "mock"
                and h.mock_fixture}
    if fixtures:
        from hvdyn.sim import load_fixture  # the simulator only when simulated hosts are used

        for fixture, name in fixtures.items():
            load_fixture(fixture, default_name=name)
    return hosts


def transport_factory(
    state_dir: Path,
    *,
    ask_pass: bool = False,
    password_for: Callable[[HostSpec], str | None] | None = None,
    latency_s: float = 0.0,
) -> Callable[[HostSpec], Transport]:
    """Build a transport per host (per worker) from its `hvdyn_transport`.

    Passwords come from the host's `hvdyn_password_env` variable, the
    keyring, or (with `ask_pass`) one prompt per user name.
    """
    if password_for is None:
        password_for = make_password_resolver(ask_pass)
    context = TransportContext(state_dir=state_dir, password_for=password_for, latency_s=latency_s)

    def build(spec: HostSpec) -> Transport:
        return transport_class(spec.transport)(spec, context)

    return build
