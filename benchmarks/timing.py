"""Timing helpers the benchmark scripts share."""

from __future__ import annotations

import timeit


def calls_per_batch(timer: timeit.Timer, batch_time: float) -> int:
    """How many calls make one batch of about ``batch_time`` seconds."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= batch_time / 4 or number >= 10**7:
            break
        number *= 4
    return max(1, int(number * batch_time / max(elapsed, 1e-9)))
