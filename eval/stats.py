"""Latency summaries, one definition for eval, the load test and the benchmark.

>>> summarize([1.0, 2.0, 3.0, 4.0, 100.0])
{'p50': 3.0, 'p95': 80.8, 'n': 5}
>>> percentile([5.0, 1.0, 3.0], 50)
3.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100, linear interpolation) of a non-empty sequence."""
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summarize(samples_ms: Sequence[float]) -> dict[str, float]:
    """Latency samples -> median, 95th percentile and count."""
    return {
        "p50": round(percentile(samples_ms, 50), 3),
        "p95": round(percentile(samples_ms, 95), 3),
        "n": len(samples_ms),
    }
