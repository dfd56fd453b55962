"""Benchmarks: `python -m bench.NAME` from the repo root; each ends with one `RESULT` line.

Benchmarks print figures; no test asserts a wall-clock time (see BENCHMARKS.md).
"""
