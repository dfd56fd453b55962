"""Helpers the simulated scripts share: parameter checks and record builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hvdyn.core.model import FIELDS
from hvdyn.sim.state import SimVm

Record = dict[str, Any]
Failure = tuple[int | None, str]  # (return code or None, message)
POLL_S = 1  # the templates poll jobs and states about once a second
# What Get-HvClusterMap reports when root\MSCluster fails other than "namespace absent".
CLUSTER_FAILURE = (
    "cluster check failed (root\\MSCluster): Generic failure (the cluster WMI provider "
    "did not answer)"
)


class ParamError(Exception):
    """The script's parameters are not what the contract says."""


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def need(params: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = params.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        names = " or ".join(k.__name__ for k in _kinds(kind))
        raise ParamError(f"parameter {key!r} is missing or not {names}")
    return value


def optional_int(params: Mapping[str, Any], key: str, default: int) -> int:
    """A parameter newer than the first contract: absent means `default`."""
    if key not in params:
        return default
    value: int = need(params, key, int)
    return value


def settings_param(params: Mapping[str, Any], key: str) -> dict[str, bool | int]:
    raw = need(params, key, dict)
    return {name: need(raw, name, bool if name == "dynamic" else int) for name in FIELDS}


def settings_of(vm: SimVm) -> dict[str, bool | int]:
    return dict(vm.memory.to_settings().as_dict())


def error_record(vm_id: str | None, message: str, code: int | None = None) -> Record:
    return {"t": "error", "id": vm_id, "message": message, "code": code}


def result_record(
    vm_id: str,
    outcome: str,
    *,
    code: int | None = None,
    message: str | None = None,
    vm: SimVm | None = None,
    restarted: bool = False,
) -> Record:
    return {
        "t": "result",
        "id": vm_id,
        "outcome": outcome,
        "code": code,
        "message": message,
        "state": vm.state if vm is not None else 0,
        "restarted": restarted,
        "settings": settings_of(vm) if vm is not None else None,
    }
