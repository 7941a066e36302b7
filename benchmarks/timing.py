"""Timing helpers the benchmark scripts share."""

from __future__ import annotations

import gc
import timeit
from collections.abc import Callable
from typing import Any


def calls_per_batch(timer: timeit.Timer, batch_time: float) -> int:
    """How many calls make one batch of about ``batch_time`` seconds."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= batch_time / 4 or number >= 10**7:
            break
        number *= 4
    return max(1, int(number * batch_time / max(elapsed, 1e-9)))


def seconds_per_call(fn: Callable[[], Any], batch_time: float) -> float:
    """Seconds per call of ``fn`` over one batch of about ``batch_time`` s."""
    timer = timeit.Timer(fn)
    number = calls_per_batch(timer, batch_time)
    return timer.timeit(number) / number


def measure(cases: dict[str, Callable[[], Any]], repeats: int, batch_time: float,
            warmup: int = 3) -> dict[str, list[float]]:
    """Interleaved timings: ``warmup`` calls of each case, then ``repeats``
    batches of each case, round robin, with the garbage collector off."""
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in cases.items():
                times[name].append(seconds_per_call(fn, batch_time))
    finally:
        if enabled:
            gc.enable()
    return times
