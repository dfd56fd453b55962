"""Hyper-V's rules for a VM's memory sizes, which the policy and the plan both apply.

Sizes are whole MB, as in `hvdyn.core.model.MemorySettings`.
"""

from __future__ import annotations

from typing import TypeVar

from hvdyn.core.model import format_mb

# A static VM's buffer and weight do nothing: a policy does not manage them and a
# plan leaves them as they are.
STATIC_INERT_FIELDS = ("buffer", "weight")

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
