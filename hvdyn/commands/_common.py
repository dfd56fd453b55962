"""What several commands share: loading the policy and hosts, building transports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hvdyn.credentials import make_password_resolver
from hvdyn.errors import InputError
from hvdyn.inventory import load_inventory, select_hosts
from hvdyn.model import HostSpec
from hvdyn.policy import Policy, load_policy
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
    raise InputError("no inventory: pass -i/--inventory or set `inventory:` in the policy")


def load_targets(policy_path: Path, inventory: Path | None, limit: str | None) -> Targets:
    policy = load_policy(policy_path)
    inventory_path = inventory_for(policy, inventory)
    hosts = select_hosts(load_inventory(inventory_path), limit)
    return Targets(policy=policy, inventory_path=inventory_path, hosts=hosts)


def load_hosts(inventory: Path | None, limit: str | None) -> list[HostSpec]:
    """Hosts for commands that take no policy (collect, ping, sim reset)."""
    return select_hosts(load_inventory(inventory_for(None, inventory)), limit)


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
