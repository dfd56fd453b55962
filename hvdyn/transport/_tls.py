"""TLS contexts and a requests adapter for hosts that opted into old TLS.

Neither pywinrm nor pypsrp takes an SSLContext. A Server 2008 R2 HTTPS
listener speaks only TLS 1.0 unless SChannel is changed, while Python 3.10+
and urllib3 2 refuse anything below TLS 1.2. For a host with
``hvdyn_tls_min: "1.0"`` we build a fresh context (``@SECLEVEL`` sticks to a
context, so never reuse one across policies) and mount it on every requests
session the library builds.
"""

from __future__ import annotations

import logging
import ssl
import warnings
from typing import Any

import requests.adapters

from hvdyn.transport._options import ConnOptions

log = logging.getLogger(__name__)
_MARK = "_hvdyn_prepared"


def legacy_context(opts: ConnOptions) -> ssl.SSLContext:
    """TLS >= opts.tls_min with SHA-1 suites and MD5-SHA1 signatures allowed (SECLEVEL 0)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = (
            ssl.TLSVersion.TLSv1 if opts.tls_min == "1.0" else ssl.TLSVersion.TLSv1_1
        )
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if opts.cert_validation == "ignore":
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif opts.ca_bundle:
        ctx.load_verify_locations(cafile=opts.ca_bundle)
    else:
        ctx.load_default_certs()
    return ctx


class LegacyTlsAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose pools use the given SSLContext."""

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kwargs)


def warn_legacy(opts: ConnOptions) -> None:
    log.warning(
        "%s: TLS %s allowed with SECLEVEL=0 ciphers (hvdyn_tls_min); "
        "enable TLS 1.2 on the host to drop this",
        opts.host,
        opts.tls_min,
    )


class RequestCounter:
    """Counts HTTP requests sent through the sessions it prepared (auth legs included)."""

    def __init__(self) -> None:
        self.count = 0

    def wrap(self, adapter: Any) -> None:
        original = adapter.send

        def send(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        adapter.send = send


def prepare_session(session: Any, opts: ConnOptions, counter: RequestCounter) -> None:
    """Mount the legacy TLS adapter (when opted in) and count requests; once per session."""
    if getattr(session, _MARK, False):
        return
    if opts.legacy_tls:
        old = session.get_adapter("https://")
        retries = getattr(old, "max_retries", 0)
        session.mount("https://", LegacyTlsAdapter(legacy_context(opts), max_retries=retries))
    for adapter in session.adapters.values():
        counter.wrap(adapter)
    setattr(session, _MARK, True)
