"""What an audit and an apply cost on the wire, through the real WinRM transport.

    python -m bench.wire [--hosts 20] [--vms 20] [--delivery stdin|file]

`hvdyn.transport.winrm.WinrmTransport` (unmodified pywinrm underneath) talks
to the in-process fake WS-Management endpoint of the transport tests
(`tests/transport/fake_wsman.py`, imported as is: run from the repo root)
through a byte-counting TCP relay, so `bytes` are what crossed the socket in
both directions, HTTP headers included. The engine runs as `hvdyn plan` /
`hvdyn apply` do. The fake cannot run PowerShell: its handler looks up the
`Script` the engine rendered (same text), runs it on a simulated host
(`hvdyn.sim.run_script`) and prints that host's real record stream, so the
replies have realistic sizes. Every host drifts on buffer/weight only, so an
apply is discover + apply.

Counts per host: HTTP requests (auth legs included; Basic auth needs none),
WinRS shells opened (Create), scripts (Command + powershell.exe), bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench._util import machine, result_line
from bench.fanout import write_lab
from hvdyn.cli.context import load_targets
from hvdyn.core.model import HostSpec, HostStatus, Script, ScriptResult
from hvdyn.run.engine import Engine, RunOptions
from hvdyn.transport import Transport, TransportContext
from hvdyn.transport.winrm import WinrmTransport

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `tests` is not installed; the fake lives there
    sys.path.insert(0, str(REPO))
from tests.transport.fake_wsman import FakeWsman  # noqa: E402
from tests.transport.simlab import SimulatedHosts  # noqa: E402

PASSWORD = "S3cret!"


class ByteRelay:
    """A TCP relay on 127.0.0.1 that counts the bytes it forwards each way."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.up = 0  # client -> server
        self.down = 0  # server -> client
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = int(self._sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                with self._lock:
                    if upstream:
                        self.up += len(data)
                    else:
                        self.down += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def reset(self) -> None:
        with self._lock:
            self.up = self.down = self.connections = 0

    def close(self) -> None:
        self._sock.close()


class _Announcing:
    """Tells the fake which Script (and host) the text it is about to receive is."""

    def __init__(self, inner: WinrmTransport, sim: SimulatedHosts, spec: HostSpec) -> None:
        self.inner, self.sim, self.spec = inner, sim, spec

    def run(self, script: Script, *, timeout_s: float) -> ScriptResult:
        self.sim.announce(self.spec.name, script)
        return self.inner.run(script, timeout_s=timeout_s)

    def close(self) -> None:
        self.inner.close()


def _winrm_spec(spec: HostSpec, port: int, delivery: str) -> HostSpec:
    return HostSpec(
        name=spec.name,
        address="127.0.0.1",
        transport="winrm",
        groups=spec.groups,
        port=port,
        scheme="http",
        user="hvadmin",
        auth="basic",
        password_env="HVDYN_BENCH_PASSWORD",
        vars={
            "hvdyn_allow_unencrypted": True,
            "hvdyn_operation_timeout_s": 20,
            "hvdyn_script_delivery": delivery,
        },
    )


def _run(
    mode: str,
    engine_policy: Any,
    hosts: list[HostSpec],
    fake: FakeWsman,
    relay: ByteRelay,
    sim: SimulatedHosts,
    tmp: Path,
) -> dict[str, float]:
    context = TransportContext(state_dir=tmp, password_for=lambda spec: PASSWORD)

    def factory(spec: HostSpec) -> Transport:
        return _Announcing(WinrmTransport(spec, context), sim, spec)

    before_actions = Counter(fake.actions)
    before_requests = fake.requests
    relay.reset()
    options = RunOptions(mode="apply" if mode == "apply" else "plan", forks=4)
    t0 = time.perf_counter()
    results = Engine(engine_policy, factory, options).run(hosts)
    wall = time.perf_counter() - t0
    bad = [r for r in results if r.status in (HostStatus.FAILED, HostStatus.UNREACHABLE)]
    if bad:
        raise SystemExit(f"{mode}: {len(bad)} hosts failed, first: {bad[0].host}: {bad[0].error}")
    actions = Counter(fake.actions)
    actions.subtract(before_actions)
    n = len(hosts)
    requests = fake.requests - before_requests
    out = {
        "requests": requests / n,
        "shells": actions["Create"] / n,
        "scripts": actions["Command"] / n,
        "up_kb": relay.up / n / 1024,
        "down_kb": relay.down / n / 1024,
        "connections": relay.connections / n,
        "wall": wall,
    }
    print(
        f"{mode}: per host {out['requests']:g} HTTP requests "
        f"({', '.join(f'{k} {v / n:g}' for k, v in sorted(actions.items()) if v)}), "
        f"{out['shells']:g} shell(s), {out['scripts']:g} command(s), "
        f"{out['up_kb']:.1f} KB up / {out['down_kb']:.1f} KB down, "
        f"{out['connections']:g} TCP connection(s); statuses "
        f"{dict(Counter(str(r.status) for r in results))}; {wall:.2f} s for {n} hosts"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wire", description=__doc__)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--vms", type=int, default=20, help="VMs per simulated host")
    parser.add_argument("--delivery", choices=("stdin", "file"), default="stdin")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="hvdyn-bench-wire-") as tmp_name:
        tmp = Path(tmp_name)
        policy_path = write_lab(tmp, args.hosts, args.vms)
        targets = load_targets(policy_path, None, None)
        fixtures = {h.name: Path(h.mock_fixture or "") for h in targets.hosts}
        sim = SimulatedHosts(fixtures)
        with FakeWsman(sim, password=PASSWORD) as fake:
            relay = ByteRelay(fake.port)
            try:
                hosts = [_winrm_spec(h, relay.port, args.delivery) for h in targets.hosts]
                audit = _run("audit", targets.policy, hosts, fake, relay, sim, tmp)
                apply = _run("apply", targets.policy, hosts, fake, relay, sim, tmp)
            finally:
                relay.close()
    print("target: 1 shell per host per run; audit 1 script, apply 2 (stdin delivery)")
    print(
        result_line(
            delivery=args.delivery,
            hosts=args.hosts,
            vms_per_host=args.vms,
            audit_requests=audit["requests"],
            audit_shells=audit["shells"],
            audit_commands=audit["scripts"],
            audit_kb_up=round(audit["up_kb"], 1),
            audit_kb_down=round(audit["down_kb"], 1),
            apply_requests=apply["requests"],
            apply_shells=apply["shells"],
            apply_commands=apply["scripts"],
            apply_kb_up=round(apply["up_kb"], 1),
            apply_kb_down=round(apply["down_kb"], 1),
        )
    )


if __name__ == "__main__":
    main()
