"""What each authentication costs per connection and per script, through the real transports.

    python -m bench.auth [--runs 15]

`WinrmTransport` and `PsrpTransport` (unmodified pywinrm / pypsrp) against
the transport tests' fake endpoint (`tests/transport/fake_wsman.py`, run
from the repo root) with Basic, or pyspnego's NTLM acceptor with WinRM
message encryption (hvdyn's default). Per auth and transport: HTTP requests
for the first script on a new connection and for the next one, and the
client CPU / wall time of each (min and median over --runs fresh
transports). Client and fake share one process, so CPU includes the fake's
side of the handshake and the encryption.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._util import machine, result_line
from hvdyn.core.model import HostSpec, Script
from hvdyn.transport import TransportContext
from hvdyn.transport.psrp import PsrpTransport
from hvdyn.transport.winrm import WinrmTransport

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `tests` is not installed; the fake lives there
    sys.path.insert(0, str(REPO))
from tests.transport.fake_auth import ServerAuth  # noqa: E402
from tests.transport.fake_wsman import FakeWsman, Reply  # noqa: E402

PASSWORD = "S3cret!"
SCRIPT = Script(name="probe", text="Write-Output 'x'\n" * 50, params={})


def _spec(port: int, auth: str) -> HostSpec:
    host_vars: dict[str, Any] = {"hvdyn_operation_timeout_s": 5}
    if auth == "basic":
        host_vars["hvdyn_allow_unencrypted"] = True
    return HostSpec(name="hv", address="127.0.0.1", port=port, user="hvadmin", auth=auth,
                    vars=host_vars)


def _timed(fn: Any) -> tuple[float, float, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    value = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, value


def measure(cls: Any, auth: str, runs: int, state: Path) -> dict[str, Any]:
    server = ServerAuth(offers=("Negotiate",), require_encryption=True) if auth == "ntlm" \
        else None
    context = TransportContext(state_dir=state, password_for=lambda spec: PASSWORD)
    first: list[tuple[float, float]] = []
    later: list[tuple[float, float]] = []
    requests = (0, 0)
    with FakeWsman(lambda text: Reply(stdout="x\r\n"), auth=server) as fake:
        for _ in range(runs):
            transport = cls(_spec(fake.port, auth), context)
            try:
                cpu1, wall1, r1 = _timed(lambda t=transport: t.run(SCRIPT, timeout_s=30))
                cpu2, wall2, r2 = _timed(lambda t=transport: t.run(SCRIPT, timeout_s=30))
            finally:
                transport.close()
            first.append((cpu1, wall1))
            later.append((cpu2, wall2))
            requests = (r1.requests, r2.requests)

    def stats(rows: list[tuple[float, float]], index: int) -> str:
        values = [row[index] * 1000 for row in rows]
        return f"{min(values):.1f}/{statistics.median(values):.1f}"

    return {"first_requests": requests[0], "later_requests": requests[1],
            "first_cpu_ms": stats(first, 0), "first_wall_ms": stats(first, 1),
            "later_cpu_ms": stats(later, 0), "later_wall_ms": stats(later, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "ntlm-users"
        users.write_text(f":hvadmin:{PASSWORD}\n", encoding="utf-8")
        os.environ["NTLM_USER_FILE"] = str(users)
        print(f"machine: {machine()}; times are min/median ms over {args.runs} connections")
        results = {}
        for name, cls in (("winrm", WinrmTransport), ("psrp", PsrpTransport)):
            for auth in ("basic", "ntlm"):
                row = measure(cls, auth, args.runs, Path(tmp))
                results[f"{name}_{auth}"] = row
                print(f"{name:5} {auth:5} " + " ".join(f"{k}={v}" for k, v in row.items()))
    print(result_line(**{f"{key}_first_requests": row["first_requests"]
                         for key, row in results.items()}))


if __name__ == "__main__":
    main()
