"""Read any inventory source through Ansible itself, as subprocesses (never imported).

``ansible-inventory -i SRC --list`` gives hosts, groups and merged vars with the
user's ansible.cfg, plugins, dynamic inventory scripts and vault passwords.
It does not template: a var hvdyn reads that holds Jinja or an inline vault
value is resolved by one ``ansible -m ansible.builtin.debug`` call over the
hosts that need it (a controller-side action: no host is contacted). Its
output comes back through a pipe only; Ansible's log file and extra callbacks
are switched off for that call so a decrypted value is written nowhere.

ansible-core is GPLv3; hvdyn (MIT) only runs its commands and reads their
JSON, the way a shell script would, and imports none of its code.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hvdyn.core.errors import InputError
from hvdyn.inventory.base import (
    RawHost,
    RawInventory,
    Var,
    Where,
    has_jinja,
    is_password_key,
    is_vaulted,
    log,
)
from hvdyn.transport import reads

TIMEOUT_S = 600  # a dynamic inventory may query a CMDB; a hung one must still end
PASSWORD_VARS = ("ansible_password", "ansible_winrm_pass", "ansible_winrm_password")
MAX_SCAN_BYTES = 20 * 1024 * 1024
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESULT = re.compile(r"^\S[^\n]* \| [A-Z!]+ => ", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class AnsibleOptions:
    """How to run Ansible: which ansible-inventory, and the vault password passthrough."""

    executable: str | None = None  # else $HVDYN_ANSIBLE_INVENTORY, PATH, hvdyn's venv
    vault_password_files: tuple[str, ...] = ()
    ask_vault_pass: bool = False


def find_ansible_inventory(options: AnsibleOptions) -> str | None:
    named = options.executable or os.environ.get("HVDYN_ANSIBLE_INVENTORY")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    beside = Path(sys.executable).with_name("ansible-inventory")  # same venv as hvdyn
    return shutil.which("ansible-inventory") or (str(beside) if beside.is_file() else None)


_asked: list[str] = []  # the --ask-vault-pass answer, asked once per process, memory only


def _vault_args(options: AnsibleOptions) -> tuple[list[str], int | None]:
    """Vault arguments; --ask-vault-pass is asked once here and handed over through a pipe.

    Each Ansible run reads the password from its own pipe (``/dev/fd/N``), so the
    user is asked once however many runs one command needs, and it is never on disk.
    """
    args = [arg for f in options.vault_password_files for arg in ("--vault-password-file", f)]
    if not options.ask_vault_pass:
        return args, None
    if not _asked:
        _asked.append(getpass.getpass("Vault password: "))
    read_end, write_end = os.pipe()
    os.write(write_end, _asked[0].encode() + b"\n")
    os.close(write_end)
    return [*args, "--vault-password-file", f"/dev/fd/{read_end}"], read_end


def _run(argv: list[str], src: Path, options: AnsibleOptions, *, quiet_logs: bool = False) -> str:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    if quiet_logs:
        # Decrypted values travel back through the pipe only: no log file, no extra
        # callbacks (ad-hoc runs load none unless LOAD_CALLBACK_PLUGINS).
        env.update(ANSIBLE_LOG_PATH="/dev/null", ANSIBLE_LOAD_CALLBACK_PLUGINS="0")
    vault, pipe = _vault_args(options)
    try:
        done = subprocess.run(
            [*argv, *vault], capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
            check=False, encoding="utf-8", errors="replace",
            pass_fds=() if pipe is None else (pipe,),
        )
    except FileNotFoundError:
        raise InputError(f"{src}: cannot run {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise InputError(f"{src}: {Path(argv[0]).name} did not finish in {TIMEOUT_S} s") from None
    finally:
        if pipe is not None:
            os.close(pipe)
    for line in done.stderr.splitlines():
        if line.strip() and done.returncode == 0:
            log.warning("ansible: %s", line.strip())
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[-600:] or f"exit {done.returncode}"
        raise InputError(f"{src}: {Path(argv[0]).name} failed: {detail}")
    return done.stdout


def list_inventory(src: Path, options: AnsibleOptions, limit: str | None = None) -> dict[str, Any]:
    """The JSON of ``ansible-inventory -i SRC --list [--limit PATTERN]``."""
    exe = find_ansible_inventory(options)
    if exe is None:
        raise InputError(f"{src}: ansible-inventory not found (install ansible-core)")
    argv = [exe, "-i", str(src), "--list"]
    if limit:
        argv += ["--limit", limit]
    out = _run(argv, src, options)
    try:
        data = json.loads(out)
    except ValueError:
        raise InputError(f"{src}: ansible-inventory printed no JSON") from None
    if not isinstance(data, dict):
        raise InputError(f"{src}: ansible-inventory printed unexpected JSON")
    return data


def _tree(data: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    children: dict[str, list[str]] = {}
    direct: dict[str, list[str]] = {}
    for name, body in data.items():
        if name == "_meta" or not isinstance(body, dict):
            continue
        children[name] = [str(c) for c in body.get("children", [])]
        direct[name] = [str(h) for h in body.get("hosts", [])]
    for name in [c for kids in children.values() for c in kids]:
        children.setdefault(name, [])
        direct.setdefault(name, [])
    return children, direct


def _host_names(data: dict[str, Any]) -> list[str]:
    """Every host in the --list JSON (hosts without vars are absent from _meta.hostvars)."""
    direct = _tree(data)[1]
    meta = data.get("_meta")
    names = [h for hosts in direct.values() for h in hosts]
    if isinstance(meta, dict) and isinstance(meta.get("hostvars"), dict):
        names += list(meta["hostvars"])
    return list(dict.fromkeys(names))


def _members(name: str, children: dict[str, list[str]], direct: dict[str, list[str]],
             seen: set[str] | None = None) -> list[str]:
    seen = set() if seen is None else seen
    if name in seen:
        return []
    seen.add(name)
    found = list(direct.get(name, []))
    for child in children.get(name, []):
        found += _members(child, children, direct, seen)
    return list(dict.fromkeys(found))


class _Locator:
    """Finds FILE:LINE:COL of a var name in the source's files (Ansible gives no positions)."""

    def __init__(self, src: Path) -> None:
        self.src = src
        self.texts: list[tuple[Path, str]] = []
        base = src if src.is_dir() else src.parent
        candidates = [] if src.is_dir() else [src]
        roots = [src] if src.is_dir() else [base / "group_vars", base / "host_vars"]
        total = 0
        for root in roots:
            if root.is_dir():
                candidates += sorted(p for p in root.rglob("*") if p.is_file())
        for path in candidates:
            try:
                data = path.read_bytes()[:MAX_SCAN_BYTES]
            except OSError:
                continue
            total += len(data)
            if total > MAX_SCAN_BYTES:
                break
            self.texts.append((path, data.decode("utf-8", "replace")))

    def where(self, host: str, name: str) -> Where:
        for path, text in self.texts:
            for number, line in enumerate(text.splitlines(), 1):
                col = line.find(name)
                if col >= 0:
                    return Where(str(path), number, col + 1, f"{host}.{name}")
        return Where(str(self.src), 1, 1, f"{host}.{name}")

    def written(self, value: str) -> bool:
        return any(value in text for _, text in self.texts)


def _template(
    src: Path, options: AnsibleOptions, need: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """Values of the named vars per host, as Ansible templates and decrypts them."""
    names = sorted({n for ns in need.values() for n in ns if _IDENT.match(n)})
    if not names or not need:
        return {}
    exe = find_ansible_inventory(options) or "ansible-inventory"
    ansible = str(Path(exe).with_name("ansible"))
    pairs = ", ".join(f"'{n}': ({n} | default(None))" for n in names)
    # spaces between braces: "}}" would end the Jinja block early
    msg = "msg={{ { '__host': inventory_hostname, 'vars': { " + pairs + " } } | to_json }}"
    argv = [ansible, "-i", str(src), ",".join(sorted(need)), "-m",
            "ansible.builtin.debug", "-a", msg]
    out = _run(argv, src, options, quiet_logs=True)
    found: dict[str, dict[str, Any]] = {}
    decoder = json.JSONDecoder()
    for header in _RESULT.finditer(out):  # the minimal callback: "HOST | STATUS => {json}"
        try:
            result, _ = decoder.raw_decode(out, header.end())
            payload = json.loads(result["msg"])
            found[str(payload["__host"])] = payload["vars"]
        except (ValueError, KeyError, TypeError):
            detail = " ".join(out[header.start():header.start() + 400].split())
            raise InputError(f"{src}: Ansible could not resolve a variable: {detail}") from None
    return found


def read_with_ansible(src: Path, options: AnsibleOptions) -> tuple[RawInventory, dict[str, str]]:
    """The inventory as Ansible resolves it, and the (vault-decrypted) password per host."""
    data = list_inventory(src, options)
    meta = data.get("_meta", {}) if isinstance(data.get("_meta"), dict) else {}
    hostvars: dict[str, dict[str, Any]] = meta.get("hostvars", {})
    children, direct = _tree(data)
    groups = {g: tuple(_members(g, children, direct)) for g in children}
    locator = _Locator(src)
    need: dict[str, list[str]] = {}
    for host, values in hostvars.items():
        connection = values.get("ansible_connection")
        if isinstance(connection, str) and not has_jinja(connection) and (
            "hvdyn_transport" not in values
            and connection.removeprefix("ansible.builtin.") not in ("winrm", "psrp")
        ):
            continue  # not a target (ssh, local, ...): nothing of it to resolve
        wanted = [n for n, v in values.items()
                  if (reads(n) or is_password_key(n)) and (has_jinja(v) or is_vaulted(v))]
        if wanted:
            need[host] = wanted
    resolved = _template(src, options, need)
    hosts: dict[str, RawHost] = {}
    secrets: dict[str, str] = {}
    for host in _host_names(data):
        values = hostvars.get(host) or {}
        merged: dict[str, Var] = {}
        for name, value in values.items():
            raw = value
            if name in need.get(host, ()):
                value = resolved.get(host, {}).get(name)
            where = locator.where(host, name)
            if is_password_key(name):
                plain = not (is_vaulted(raw) or has_jinja(raw))
                if plain and isinstance(value, str) and value and locator.written(value):
                    merged[name] = Var(value, where, where)  # check_vars refuses it there
                elif name in PASSWORD_VARS and isinstance(value, str) and value:
                    secrets[host] = value  # last of Ansible's password vars wins
                continue
            if value is not None and not is_vaulted(value):
                merged[name] = Var(value, where, where)
        member_of = tuple(sorted(g for g, members in groups.items()
                                 if host in members and g != "all"))
        hosts[host] = RawHost(name=host, vars=merged, groups=member_of,
                              where=Where(str(src), 1, 1, host))
    groups["all"] = tuple(hosts)
    return RawInventory(source=src, mode="ansible", hosts=hosts, groups=groups), secrets


def select_with_ansible(src: Path, options: AnsibleOptions, pattern: str) -> list[str]:
    """Host names Ansible's own pattern selection gives for ``--limit PATTERN``."""
    return _host_names(list_inventory(src, options, limit=pattern))
