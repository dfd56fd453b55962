"""Prometheus: the `hvdyn exporter` metrics and reading history back from a server.

`metrics` names every series (docs/metrics.md), `exporter` collects in the
background and serves them, `source` reads them back through the HTTP API
as the same rows the SQLite store gives.
"""
