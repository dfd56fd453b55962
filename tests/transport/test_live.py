"""Against a real Windows host: set HVDYN_TEST_HOST, HVDYN_TEST_USER, HVDYN_TEST_PASSWORD.

Optional: HVDYN_TEST_AUTH (ntlm), HVDYN_TEST_SCHEME (http), HVDYN_TEST_PORT,
HVDYN_TEST_TLS_MIN ("1.0" for an untouched 2008 R2 HTTPS listener),
HVDYN_TEST_CA_BUNDLE, HVDYN_TEST_CERT_VALIDATION. Read-only: only the ping
script runs (plus a padded copy of it to cross the envelope size).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hvdyn.core.model import HostSpec, Script
from hvdyn.powershell.record_parser import parse_stream
from hvdyn.powershell.records import PingRecord
from hvdyn.run.ping import ping_host, render_ping
from hvdyn.transport import TransportContext, transport_class

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not all(os.environ.get(v) for v in
                ("HVDYN_TEST_HOST", "HVDYN_TEST_USER", "HVDYN_TEST_PASSWORD")),
        reason="set HVDYN_TEST_HOST, HVDYN_TEST_USER and HVDYN_TEST_PASSWORD for live tests",
    ),
]


def _spec(transport: str, **extra: Any) -> HostSpec:
    env = os.environ
    host_vars: dict[str, Any] = {}
    for var, key in (("HVDYN_TEST_TLS_MIN", "hvdyn_tls_min"),
                     ("HVDYN_TEST_CA_BUNDLE", "hvdyn_ca_bundle"),
                     ("HVDYN_TEST_CERT_VALIDATION", "hvdyn_cert_validation")):
        if env.get(var):
            host_vars[key] = env[var]
    host_vars.update(extra)
    port = env.get("HVDYN_TEST_PORT")
    return HostSpec(
        name=env["HVDYN_TEST_HOST"], address=env["HVDYN_TEST_HOST"], transport=transport,
        port=int(port) if port else None, scheme=env.get("HVDYN_TEST_SCHEME", "http"),
        user=env["HVDYN_TEST_USER"], auth=env.get("HVDYN_TEST_AUTH", "ntlm"),
        password_env="HVDYN_TEST_PASSWORD", vars=host_vars,
    )


def _context(tmp_path: Path) -> TransportContext:
    return TransportContext(state_dir=tmp_path,
                            password_for=lambda spec: os.environ["HVDYN_TEST_PASSWORD"])


@pytest.mark.parametrize("delivery", ["stdin", "file"])
def test_winrm_runs_ping_in_each_delivery_mode(tmp_path: Path, delivery: str) -> None:
    spec = _spec("winrm", hvdyn_script_delivery=delivery)
    transport = transport_class("winrm")(spec, _context(tmp_path))
    try:
        script = render_ping(spec, delivery)
        # Pad with comment lines past one Send envelope (150 KB) to test chunking.
        padded = Script(name=script.name, params=script.params,
                        text=script.text + "\r\n" + "# padding ÄÖÜ 東京\r\n" * 9000)
        for item in (script, padded):
            result = transport.run(item, timeout_s=120)
            parsed = parse_stream(result.stdout, host=spec.name, script="ping")
            assert result.rc == 0, result.stderr
            assert parsed.of_type(PingRecord)[0].delivery == delivery
    finally:
        transport.close()


@pytest.mark.parametrize("transport", ["winrm", "psrp"])
def test_ping_host(tmp_path: Path, transport: str) -> None:
    result = ping_host(_spec(transport), _context(tmp_path), timeout_s=120)
    assert result.ok, result.as_dict()
    assert result.ps_version
