"""Figures from timed samples: median and p90 (summaries, closes), nearest-rank percentiles
(latencies). Benches report these and their ratios; they never assert on them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def stats(samples: Sequence[float]) -> dict[str, float]:
    """Median, p90 (nearest rank, never past the last sample) and the number of samples."""
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return {"median": statistics.median(ordered), "p90": p90, "n": len(ordered)}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN when there is nothing to rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
