"""Percentiles of measured durations."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentiles_ms(seconds: Sequence[float], *percents: float) -> list[float]:
    """The nearest-rank percentiles of durations in seconds, in milliseconds (0 if none)."""
    ordered = sorted(seconds)
    if not ordered:
        return [0.0 for _ in percents]
    ranks = (max(1, math.ceil(p / 100 * len(ordered))) for p in percents)
    return [round(ordered[rank - 1] * 1000, 3) for rank in ranks]
