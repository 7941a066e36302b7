#!/usr/bin/env python3
"""Per-call overhead of compiled symarray functions, next to NumPy.

Two measurements, each done for symarray and for the same expression in
NumPy within one run (so the ratio is meaningful on a noisy machine):

* ``call_overhead``: a one-op function, ``f(x) = x + 1`` on a 0-d float64
  array, against the NumPy expression ``x + 1``.
* ``chain100``: a chain of 100 elementwise nodes on a 10-element float64
  vector (25 x ``[x * 1.0001, x + 0.0001, tanh(x), x - 0.0001]``), one
  compiled symarray function against the same NumPy calls done eagerly.

Each case is warmed up, a batch size is calibrated so that one batch lasts
about ``--batch-time`` seconds, then ``--repeats`` batches are timed with
``timeit`` (garbage collector off); the table shows the median (and the
minimum) per call in microseconds and the median ratio symarray / NumPy.

Usage::

    python benchmarks/overhead.py            # ~15 s
    python benchmarks/overhead.py --quick    # ~2 s smoke run
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
from chains import TANH_CHAIN100, apply_chain
from timing import calls_per_batch

import symarray
import symarray.tensor as T  # noqa: N812


def chain_symbolic(x: Any) -> Any:
    """The chain as a symarray graph (one node per step)."""
    return apply_chain(x, TANH_CHAIN100, T.tanh)


def chain_numpy(x: np.ndarray) -> np.ndarray:
    """The same chain, eagerly with NumPy."""
    return apply_chain(x, TANH_CHAIN100, np.tanh)


def time_per_call(fn: Callable[[], Any], repeats: int, batch_time: float
                  ) -> list[float]:
    """Seconds per call of ``fn`` for each of ``repeats`` timed batches."""
    for _ in range(3):
        fn()
    timer = timeit.Timer(fn)
    number = calls_per_batch(timer, batch_time)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [timer.timeit(number) / number for _ in range(repeats)]
    finally:
        if was_enabled:
            gc.enable()


def build_cases() -> list[tuple[str, str, Callable[[], Any], Callable[[], Any], int]]:
    """(name, description, symarray call, numpy call, graph node count)."""
    cases = []

    x0 = T.dscalar("x")
    f0 = symarray.function([x0], x0 + 1)
    v0 = np.array(1.5)
    np.testing.assert_allclose(f0(v0), v0 + 1)
    cases.append(("call_overhead", "x + 1 on a 0-d float64",
                  lambda: f0(v0), lambda: v0 + 1, len(f0.fgraph.apply_nodes)))

    x1 = T.dvector("x")
    f1 = symarray.function([x1], chain_symbolic(x1))
    v1 = np.random.default_rng(0).standard_normal(10)
    np.testing.assert_allclose(f1(v1), chain_numpy(v1), rtol=1e-12)
    cases.append(("chain100", "100 elementwise nodes, 10-vector",
                  lambda: f1(v1), lambda: chain_numpy(v1),
                  len(f1.fgraph.apply_nodes)))
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 repeats of 0.05 s batches")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed batches per case (default 11, quick 3)")
    parser.add_argument("--batch-time", type=float, default=None,
                        help="seconds per batch (default 0.2, quick 0.05)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 11)
    batch_time = args.batch_time or (0.05 if args.quick else 0.2)

    mode = symarray.get_default_mode()
    print(f"symarray {symarray.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}")
    print(f"mode: {mode}; {repeats} batches of ~{batch_time:g} s, gc off; "
          "median (min) in us per call")
    print()
    header = (f"{'case':<15} {'nodes':>5} {'symarray us':>18} {'numpy us':>16} "
              f"{'ratio':>8}")
    print(header)
    print("-" * len(header))
    for name, _desc, sym_call, np_call, nodes in build_cases():
        sym, ref = [], []
        # interleave the two so that drifts in machine load hit both alike
        for _ in range(repeats):
            sym += time_per_call(sym_call, 1, batch_time)
            ref += time_per_call(np_call, 1, batch_time)
        s_med, r_med = statistics.median(sym), statistics.median(ref)
        print(f"{name:<15} {nodes:>5} "
              f"{s_med * 1e6:>8.2f} ({min(sym) * 1e6:>7.2f}) "
              f"{r_med * 1e6:>7.2f} ({min(ref) * 1e6:>6.2f}) "
              f"{s_med / r_med:>7.1f}x")
    print()
    print("ratio = symarray median / NumPy median (lower is better; <1 beats NumPy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
