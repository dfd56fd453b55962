"""Try a host's auth methods in order, as Ansible's winrm plugin does with a transport list.

`ansible_winrm_transport: kerberos,ntlm` means: Kerberos, and NTLM when the
host rejects Kerberos. The wrapper builds the host's transport with the first
method; when the host rejects it (`AuthError`) before any script has run on
it, the next method gets a fresh transport. Once a script has run, the method
that worked is kept: a later rejection is reported, never retried, so a script
never runs twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from hvdyn.core.errors import AuthError
from hvdyn.core.model import HostSpec, Script, ScriptResult

log = logging.getLogger(__name__)


class AuthFallback:
    """A transport over ``spec.auth_order``: one inner transport at a time."""

    def __init__(self, cls: Callable[..., Any], spec: HostSpec, context: Any) -> None:
        self._cls = cls
        self._spec = spec
        self._context = context
        self._order = spec.auth_order or (spec.auth,)
        self._index = 0
        self._proven = False
        self.tried: list[str] = [self._order[0]]
        self._inner: Any = cls(dataclasses.replace(spec, auth=self._order[0]), context)

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        while True:
            try:
                result: ScriptResult = self._inner.run(script, timeout_s=timeout_s)
            except AuthError as exc:
                if self._proven or self._index + 1 >= len(self._order):
                    raise
                self._next(exc)
                continue
            self._proven = True
            return result

    def _next(self, exc: AuthError) -> None:
        failed = self._order[self._index]
        self._index += 1
        method = self._order[self._index]
        log.info("%s: %s rejected (%s); trying %s", self._spec.name, failed, exc, method)
        self._inner.close()
        self.tried.append(method)
        self._inner = self._cls(dataclasses.replace(self._spec, auth=method), self._context)

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:  # security, requests_sent, ...: the live transport's
        return getattr(self._inner, name)
