"""Hyper-V's rules for a VM's memory sizes, which the policy and the plan both apply.

Sizes are whole MB, as in `hvdyn.core.model.MemorySettings`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from hvdyn.core.model import MemorySettings, SettingName, format_mb

# A static VM's buffer and weight do nothing: a policy does not manage them and a
# plan leaves them as they are.
STATIC_INERT_FIELDS: tuple[SettingName, ...] = ("buffer", "weight")

_Size = TypeVar("_Size")


def stored_limits(dynamic: bool, startup: _Size, minimum: _Size, maximum: _Size
                  ) -> tuple[_Size, _Size]:
    """(minimum, maximum) as Hyper-V keeps them: a static VM's are its startup.

    Hyper-V on 2008 R2 SP1 keeps Limit = Reservation = VirtualQuantity for a
    static VM; a dynamic VM keeps its own. Generic in the size so that the
    policy (values with provenance) and the plan (whole MB) apply the one rule.
    """
    return (minimum, maximum) if dynamic else (startup, startup)


def startup_above_maximum(
    dynamic: bool,
    startup_mb: int,
    maximum_mb: int,
    *,
    startup_from: object = None,
    maximum_from: object = None,
) -> str | None:
    """Why Hyper-V would refuse these sizes (a dynamic VM's startup above its maximum), or None.

    A static VM's maximum follows its startup (`stored_limits`), so it cannot
    break the rule. `startup_from` / `maximum_from`, when given, say where each
    size came from (a `Provenance`, "current"); they are only turned into text
    for the message.
    """
    if not dynamic or startup_mb <= maximum_mb:
        return None
    s_from = "" if startup_from is None else f" from {startup_from}"
    m_from = "" if maximum_from is None else f" from {maximum_from}"
    return (
        f"startup {format_mb(startup_mb)}{s_from} is larger than "
        f"maximum {format_mb(maximum_mb)}{m_from}"
    )


def dm_maximums_mb(settings: Iterable[MemorySettings]) -> int:
    """The most Dynamic Memory could hand out: the maximums of the dynamic VMs.

    A static VM holds its startup and never grows, so it is not counted.
    """
    return sum(s.maximum_mb for s in settings if s.dynamic)


def overcommit_ratio(maximums_mb: int, total_mb: int, reserve_mb: int) -> float | None:
    """DM maximums over the host RAM left after the reserve; None when nothing is left.

    The plan's check, the audit and whatif all judge a host by this one ratio
    against the policy's max_overcommit.
    """
    pool_mb = total_mb - reserve_mb
    if pool_mb <= 0:
        return None
    return maximums_mb / pool_mb
