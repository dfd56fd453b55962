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

import itertools
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


Knots = Sequence[tuple[float, float]]  # (value, cumulative share) ascending, last share 1.0


def mixture_quantiles(buckets: Sequence[tuple[int, Knots]], qs: Sequence[float]) -> list[float]:
    """Percentiles (qs ascending, 0..100) of the union of buckets, each known by a few
    percentiles ("knots": its CDF drawn as straight lines between them).

    The union's CDF is the count-weighted mixture of the buckets' CDFs; one
    sweep over all knots inverts it. Mass below a bucket's first knot sits
    on that knot.
    """
    atoms: list[tuple[float, float]] = []
    slopes: list[tuple[float, float]] = []  # (x, change of density)
    total = 0.0
    for count, knots in buckets:
        if count <= 0 or not knots:
            continue
        total += count
        first_x, first_q = knots[0]
        atoms.append((first_x, first_q * count))
        for (xa, qa), (xb, qb) in itertools.pairwise(knots):
            mass = (qb - qa) * count
            if mass <= 0:
                continue
            if xb <= xa:
                atoms.append((xa, mass))
            else:
                slopes.append((xa, mass / (xb - xa)))
                slopes.append((xb, -mass / (xb - xa)))
    if total == 0:
        raise ValueError("no buckets")
    events = sorted([(x, 0, m) for x, m in atoms] + [(x, 1, d) for x, d in slopes])
    targets = [q / 100 * total for q in qs]
    out: list[float] = []
    cdf, density, prev = 0.0, 0.0, events[0][0]
    for x, kind, value in events:
        if density > 0 and x > prev:
            reach = cdf + density * (x - prev)
            while len(out) < len(targets) and targets[len(out)] <= reach:
                out.append(prev + (targets[len(out)] - cdf) / density)
            cdf = reach
        prev = x
        if kind == 0:
            cdf += value
            while len(out) < len(targets) and targets[len(out)] <= cdf + 1e-9:
                out.append(x)
        else:
            density += value
    last = events[-1][0]
    return out + [last] * (len(targets) - len(out))
