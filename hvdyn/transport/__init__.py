"""The transport interface and a registry that imports backends lazily.

A transport runs one rendered `Script` on one host and returns its raw
output. It raises only `TransportError` subclasses; a script that ran and
failed comes back as data. pywinrm and pypsrp are imported only when a real
host is contacted, so `hvdyn --help` and the mock path never load them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hvdyn.core.errors import InputError
from hvdyn.core.model import HostSpec, Script, ScriptResult


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
    "mock": "hvdyn.transport.mock:MockTransport",
    "winrm": "hvdyn.transport.winrm:WinrmTransport",
    "psrp": "hvdyn.transport.psrp:PsrpTransport",
}

TRANSPORT_NAMES = tuple(_REGISTRY)


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
