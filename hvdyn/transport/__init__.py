"""The transport interface, and a registry of transports and the host vars they read.

A transport runs one rendered `Script` on one host and returns its raw
output. It raises only `TransportError` subclasses; a script that ran and
failed comes back as data. pywinrm and pypsrp are imported only when a real
host is contacted, so `hvdyn --help` and the mock path never load them.

The inventory validates and locates host vars through `HOST_VARS` and
`host_var` and lists transports from `TRANSPORT_NAMES`: what a transport
reads is declared once, next to the transports (`hostvars`), and so is each
rule that judges them together (`rules`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hvdyn.core.errors import InputError
from hvdyn.core.model import HostSpec, Script, ScriptResult
from hvdyn.transport.hostvars import (
    CONNECTION_VARS,
    MOCK_VARS,
    OPTION_VARS,
    PSRP_VARS,
    WINRM_VARS,
    HostVar,
    Kind,
)


class Transport(Protocol):
    """Runs scripts on one host; one instance per host per worker thread."""

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult: ...

    def close(self) -> None: ...


def _no_password(spec: HostSpec) -> str | None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportContext:
    """What every transport may need besides its host spec.

    Transports are built as ``cls(spec, context)``.
    """

    state_dir: Path
    password_for: Callable[[HostSpec], str | None] = _no_password
    latency_s: float = 0.0  # mock only: injected delay per script, for benchmarks


TransportFactory = Callable[[HostSpec], Transport]

# name -> "module:class"; the class is called as cls(spec, context).
_REGISTRY = {
    "winrm": "hvdyn.transport.winrm:WinrmTransport",
    "psrp": "hvdyn.transport.psrp:PsrpTransport",
    "mock": "hvdyn.transport.mock:MockTransport",
}

TRANSPORT_NAMES = tuple(_REGISTRY)

TRANSPORT_VAR = HostVar("hvdyn_transport", Kind.CHOICE, "the transport that carries the scripts",
                        allowed=TRANSPORT_NAMES, default="winrm")

# The vars named after one transport: its Ansible plugin's options, the simulator's fixture.
# CONNECTION_VARS and OPTION_VARS serve every real transport.
TRANSPORT_VARS: Mapping[str, tuple[HostVar, ...]] = {
    "winrm": WINRM_VARS,
    "psrp": PSRP_VARS,
    "mock": MOCK_VARS,
}

HOST_VARS: tuple[HostVar, ...] = (
    TRANSPORT_VAR, *CONNECTION_VARS, *MOCK_VARS, *OPTION_VARS, *WINRM_VARS, *PSRP_VARS
)
_BY_NAME = {var.name: var for var in HOST_VARS}
HVDYN_VAR_NAMES = tuple(name for name in _BY_NAME if name.startswith("hvdyn_"))
# Every option of Ansible's winrm/psrp plugins is theirs, declared here or not.
_READ_PREFIXES = ("hvdyn_", "ansible_winrm_", "ansible_psrp_")


def host_var(name: str) -> HostVar | None:
    """The declaration of a host var a transport reads, or None."""
    return _BY_NAME.get(name)


def reads(name: str) -> bool:
    """Whether hvdyn uses a var's value (ansible_python_interpreter and such, never)."""
    return name in _BY_NAME or name.startswith(_READ_PREFIXES)


def transport_class(name: str) -> Callable[..., Transport]:
    """The transport class registered under `name`, imported on first use."""
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise InputError(
            f"unknown transport {name!r} (allowed: {', '.join(TRANSPORT_NAMES)})"
        ) from None
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    cls: Callable[..., Transport] = getattr(module, attr)
    return _with_fallback(cls)


def _with_fallback(cls: Callable[..., Transport]) -> Callable[..., Transport]:
    """`cls`, or for a host with several auth methods a wrapper that tries them in order."""

    def build(spec: HostSpec, context: TransportContext) -> Transport:
        if len(spec.auth_order) > 1:
            from hvdyn.transport.fallback import AuthFallback

            return AuthFallback(cls, spec, context)
        return cls(spec, context)

    return build
