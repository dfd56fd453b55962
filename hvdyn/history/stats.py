"""Percentiles: of raw values, and merged across rollup buckets.

Merging is approximate by nature (a bucket keeps a few percentiles, not its
samples): the q-th percentile of a window is taken as the weighted q-th
percentile of its buckets' own q-th percentiles, weighted by sample count.
For a steady load it equals the raw figure; for a load that changes from hour
to hour it leans toward the busiest (high q) or quietest (low q) buckets,
which is the cautious side for sizing. tests/history/test_rollups.py holds
the tolerance against raw data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def weighted_percentile(pairs: Sequence[tuple[float, int]], q: float) -> float:
    """The q-th percentile of values each standing for `weight` samples (weights > 0)."""
    ordered = sorted(p for p in pairs if p[1] > 0)
    if not ordered:
        raise ValueError("no weighted values")
    total = sum(w for _, w in ordered)
    rank = q / 100 * total
    seen = 0
    for value, weight in ordered:
        seen += weight
        if seen >= rank:
            return value
    return ordered[-1][0]


def weighted_mean(pairs: Sequence[tuple[float, int]]) -> float | None:
    total = sum(w for _, w in pairs)
    return None if total == 0 else sum(v * w for v, w in pairs) / total
