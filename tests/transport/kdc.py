"""A throw-away MIT Kerberos realm on 127.0.0.1 for tests (Debian's krb5-kdc).

`Realm.start(tmp)` writes a krb5.conf and a kdc.conf into `tmp`, creates the
database with ``kdb5_util``, adds a user principal and an ``HTTP/<host>``
service principal with ``kadmin.local``, exports the service key to a
keytab and runs ``krb5kdc -n`` on a free TCP/UDP port. Nothing outside
`tmp` is touched: the caller points KRB5_CONFIG, KRB5_KDC_PROFILE,
KRB5_KTNAME and KRB5CCNAME at files in it (see the `kdc` fixture).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REALM = "HVDYN.TEST"
USER = "hv"
USER_PASSWORD = "Kerb3ros-Pass!"
SERVICE_HOST = "localhost"
BINARIES = ("kdb5_util", "kadmin.local", "krb5kdc", "kinit")


def missing_binaries() -> list[str]:
    """The MIT Kerberos programs that are not installed (krb5-kdc, krb5-admin-server, krb5-user)."""
    found = {name: shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
             for name in BINARIES}
    return [name for name, path in found.items() if path is None]


def _binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    assert path is not None, name
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Realm:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def principal(self) -> str:
        return f"{USER}@{REALM}"

    @property
    def env(self) -> dict[str, str]:
        """Environment that confines every Kerberos library call to this realm."""
        return {
            "KRB5_CONFIG": str(self.root / "krb5.conf"),
            "KRB5_KDC_PROFILE": str(self.root / "kdc.conf"),
            "KRB5_KTNAME": f"FILE:{self.root / 'http.keytab'}",
            "KRB5CCNAME": f"FILE:{self.root / 'ccache'}",
            "KRB5_TRACE": str(self.root / "trace.log"),
        }

    def run(self, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_binary(argv[0]), *argv[1:]], input=stdin, capture_output=True, text=True,
            env={**os.environ, **self.env}, timeout=30, check=False,
        )

    def kadmin(self, query: str) -> None:
        done = self.run("kadmin.local", "-r", REALM, "-q", query)
        assert done.returncode == 0 and "error" not in done.stderr.lower(), done.stderr

    def kinit(self) -> None:
        """A ticket for the user in the realm's private cache (password on stdin)."""
        done = self.run("kinit", self.principal, stdin=USER_PASSWORD + "\n")
        assert done.returncode == 0, done.stderr

    def kdestroy(self) -> None:
        (self.root / "ccache").unlink(missing_ok=True)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    @classmethod
    def start(cls, root: Path) -> Realm:
        port = _free_port()
        (root / "krb5.conf").write_text(
            "[libdefaults]\n"
            f"  default_realm = {REALM}\n"
            "  dns_lookup_realm = false\n  dns_lookup_kdc = false\n"
            "  rdns = false\n  dns_canonicalize_hostname = false\n"
            "  udp_preference_limit = 1\n"
            "[realms]\n"
            f"  {REALM} = {{\n    kdc = 127.0.0.1:{port}\n  }}\n"
            "[domain_realm]\n"
            f"  {SERVICE_HOST} = {REALM}\n  127.0.0.1 = {REALM}\n",
            encoding="ascii",
        )
        (root / "kdc.conf").write_text(
            "[kdcdefaults]\n"
            f"  kdc_listen = 127.0.0.1:{port}\n  kdc_tcp_listen = 127.0.0.1:{port}\n"
            "[realms]\n"
            f"  {REALM} = {{\n"
            f"    database_name = {root / 'principal'}\n"
            f"    key_stash_file = {root / 'stash'}\n"
            f"    acl_file = {root / 'kadm5.acl'}\n"
            "    max_life = 1h\n"
            "    supported_enctypes = aes256-cts-hmac-sha1-96:normal"
            " aes128-cts-hmac-sha1-96:normal\n"
            "  }\n"
            "[logging]\n"
            f"  kdc = FILE:{root / 'kdc.log'}\n",
            encoding="ascii",
        )
        (root / "kadm5.acl").write_text("", encoding="ascii")
        env = {
            **os.environ,
            "KRB5_CONFIG": str(root / "krb5.conf"),
            "KRB5_KDC_PROFILE": str(root / "kdc.conf"),
        }
        master = os.urandom(12).hex()
        subprocess.run([_binary("kdb5_util"), "create", "-s", "-r", REALM, "-P", master],
                       env=env, capture_output=True, check=True, timeout=60)
        process = subprocess.Popen([_binary("krb5kdc"), "-n", "-r", REALM], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        realm = cls(root=root, port=port, process=process)
        try:
            realm.kadmin(f"addprinc -pw {USER_PASSWORD} {realm.principal}")
            realm.kadmin(f"addprinc -randkey HTTP/{SERVICE_HOST}@{REALM}")
            realm.kadmin(f"ktadd -k {root / 'http.keytab'} HTTP/{SERVICE_HOST}@{REALM}")
            deadline = time.monotonic() + 15
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"krb5kdc exited with {process.returncode}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        except BaseException:
            realm.stop()
            raise
        return realm
