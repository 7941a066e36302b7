#!/usr/bin/env python3
"""Lazy ``ifelse`` against ``switch`` and against the taken branch alone.

The anchors' ``ifelse_lazy`` workload: ``ifelse(s > 0, A(x), B(x))`` with
``A(x) = exp(sin(x)) * cos(x) + tanh(x)`` and ``B(x) = sin(x*x) *
log1p(|x|) + cos(x/2)`` (no shared sub-expression), FAST_RUN, ``cvm``.
Compared in one run:

* ``lazy``: the ifelse, condition true (only A runs);
* ``switch``: ``T.switch(s > 0, A(x), B(x))`` (both branches computed);
* ``taken``: a function computing ``A(x)`` alone (same inputs);
* ``numpy``: ``A(x) if s > 0 else B(x)`` in NumPy.

Targets (issue 6): ``lazy`` at most 0.6x ``switch`` and at most 1.1x
``taken``.  ``x`` has 1e6 elements (the anchors' size) and 10 elements
(where the per-call cost of the select and the condition shows).

Usage::

    python benchmarks/ifelse.py            # ~30 s
    python benchmarks/ifelse.py --quick
"""

from __future__ import annotations

import argparse
import datetime
import gc
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
from timing import calls_per_batch

import symarray
import symarray.tensor as T  # noqa: N812
from symarray.ifelse import ifelse


def branch_a(x: Any, m: Any) -> Any:
    return m.exp(m.sin(x)) * m.cos(x) + m.tanh(x)


def branch_b(x: Any, m: Any) -> Any:
    return m.sin(x * x) * m.log1p(abs(x)) + m.cos(x * 0.5)


def cases(n: int) -> dict[str, Callable[[], Any]]:
    s, x = T.dscalar("s"), T.dvector("x")
    a, b = branch_a(x, T), branch_b(x, T)
    lazy = symarray.function([s, x], ifelse(T.gt(s, 0), a, b))
    switch = symarray.function([s, x], T.switch(T.gt(s, 0), a, b))
    taken = symarray.function([s, x], a, on_unused_input="ignore")
    xv = np.random.default_rng(0).standard_normal(n)
    st = np.array(1.0)
    np.testing.assert_allclose(lazy(st, xv), branch_a(xv, np), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(lazy(-st, xv), branch_b(xv, np), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(switch(st, xv), branch_a(xv, np), rtol=1e-9, atol=1e-13)

    def numpy_if() -> Any:
        return branch_a(xv, np) if st > 0 else branch_b(xv, np)

    return {"lazy": lambda: lazy(st, xv), "switch": lambda: switch(st, xv),
            "taken": lambda: taken(st, xv), "numpy": numpy_if}


def measure(fns: dict[str, Callable[[], Any]], repeats: int, batch_time: float
            ) -> dict[str, float]:
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                timer = timeit.Timer(fn)
                number = calls_per_batch(timer, batch_time)
                times[name].append(timer.timeit(number) / number)
    finally:
        if enabled:
            gc.enable()
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--batch-time", type=float, default=0.3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.batch_time = 3, 0.05
    print(f"# ifelse.py  {datetime.date.today()}  {platform.machine()}  "
          f"Python {platform.python_version()}  NumPy {np.__version__}")
    print(f"{'n':>8} {'lazy':>10} {'switch':>10} {'taken':>10} {'numpy':>10} "
          f"{'lazy/switch':>12} {'lazy/taken':>11}")
    for n in (10**6, 10):
        t = measure(cases(n), args.repeats, args.batch_time)
        unit, scale = ("ms", 1e3) if n > 1000 else ("us", 1e6)
        print(f"{n:>8} " + " ".join(f"{t[k] * scale:8.3g}{unit}" for k in
                                    ("lazy", "switch", "taken", "numpy"))
              + f" {t['lazy'] / t['switch']:12.2f} {t['lazy'] / t['taken']:11.2f}")
    print("targets: lazy/switch <= 0.6, lazy/taken <= 1.1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
