"""Where a host's password comes from: env var, keyring, or one prompt per user.

Order: a vault-encrypted password Ansible decrypted for the host (inventory
read with ``--inventory-reader ansible``, kept in memory only); the
environment variable named by the host's
``password_env`` (default ``HVDYN_PASSWORD``); else the system keyring
(service ``hvdyn``, the host's user name) when the optional ``keyring``
package is installed; else, with ``--ask-pass``, a prompt, asked once per
user name and cached for the run. Passwords are never logged and never put
into scripts, errors or reports.
"""

from __future__ import annotations

import getpass
import logging
import os
import threading
from collections.abc import Callable, Mapping

from hvdyn.core.model import HostSpec
from hvdyn.inventory import inventory_password
from hvdyn.transport.hostvars import DEFAULT_PASSWORD_ENV

log = logging.getLogger(__name__)

KEYRING_SERVICE = "hvdyn"

PasswordResolver = Callable[[HostSpec], str | None]


def _from_keyring(user: str) -> str | None:
    try:
        import keyring  # optional extra: hvdyn[keyring]
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, user)
    except Exception as exc:  # no backend, locked store, ...: fall through to the prompt
        log.debug("keyring lookup for %s failed: %s", user, type(exc).__name__)
        return None
    return value if isinstance(value, str) else None


def make_password_resolver(
    ask_pass: bool,
    *,
    prompt: Callable[[str], str] = getpass.getpass,
    environ: Mapping[str, str] | None = None,
    use_keyring: bool = True,
) -> PasswordResolver:
    """A `TransportContext.password_for`: env var, then keyring, then a cached prompt."""
    env = os.environ if environ is None else environ
    asked: dict[str, str] = {}
    lock = threading.Lock()  # workers resolve in parallel; prompt once per user

    def resolve(spec: HostSpec) -> str | None:
        vaulted = inventory_password(spec.name)
        if vaulted:
            return vaulted
        value = env.get(spec.password_env or DEFAULT_PASSWORD_ENV)
        if value:
            return value
        if spec.user is None:
            return None
        if use_keyring:
            stored = _from_keyring(spec.user)
            if stored:
                return stored
        if not ask_pass:
            return None
        with lock:
            if spec.user not in asked:
                asked[spec.user] = prompt(f"Password for {spec.user}: ")
            return asked[spec.user]

    return resolve
