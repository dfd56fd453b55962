"""The `hvdyn exporter`: collect hosts in the background and serve their metrics.

`exporter` runs the collection rounds and the HTTP server, `expose` turns
store rows into Prometheus series. The series names are
`hvdyn.history.metric_names` (docs/metrics.md), shared with
`hvdyn.history.prometheus_source`, which reads them back.
"""
