#!/usr/bin/env python3
"""Linear-model gradient steps: one pass over X (StreamGemv) next to NumPy.

Each step computes ``z = X @ w``, an elementwise ``g = f(z, y)`` and
``w - lr * X.T @ g``, for X of ``--rows`` x ``--cols`` (default 5000 x 784,
the anchors' ``logreg_step``).  Cases, measured in one run, interleaved:

* ``numpy``: the step written with NumPy (two BLAS products);
* ``symarray``: FAST_RUN under ``cvm``, where ``local_gemv_stream_rows``
  makes the two products one pass over the rows of X;
* ``two-pass``: the same with that rewrite excluded (``Dot`` + ``Gemv``).

Models: logistic regression (the anchors' graph: loss, gradient and update
of ``w`` and ``b``), least squares ``X.T @ (X @ w - y)``, Poisson
``X.T @ (exp(X @ w) - y)``, and the logistic step in float32.  Ratios are
over NumPy's, for the medians and for the minimums (below 1: faster); on a
busy machine NumPy's OpenBLAS threads, which spin and yield, vary the most,
so the minimums compare the libraries' best.  ``--sweep`` also times the
logistic step for several block sizes (``_blas_stream.block_bytes``).
Each batch starts after a pause (``SETTLE`` s) so that no library's BLAS
threads are still spinning from the case before.

Usage::

    python benchmarks/blas_stream.py              # ~30 s
    python benchmarks/blas_stream.py --sweep      # and the block sizes
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import symarray
import symarray.tensor as T  # noqa: N812

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import calls_per_batch  # noqa: E402

LR = 0.1
REWRITE = "local_gemv_stream_rows"


def _mode(stream: bool) -> Any:
    mode = symarray.Mode(linker="cvm", optimizer="fast_run")
    return mode if stream else mode.excluding(REWRITE)


def _sigmoid(z: Any) -> Any:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def logreg(X: np.ndarray, y: np.ndarray, stream: bool) -> Callable[[], Any]:  # noqa: N803
    """The anchors' logistic-regression step (cross-entropy loss, mean)."""
    dtype = X.dtype
    x, t = T.matrix("x", dtype=str(dtype)), T.vector("t", dtype=str(dtype))
    w = symarray.shared(np.zeros(X.shape[1], dtype=dtype), name="w")
    b = symarray.shared(np.asarray(0.0, dtype=dtype), name="b")
    p1 = 1 / (1 + T.exp(-(T.dot(x, w) + b)))
    cost = (-t * T.log(p1) - (1 - t) * T.log(1 - p1)).mean()
    gw, gb = symarray.grad(cost, [w, b])
    lr = np.asarray(LR, dtype=dtype)
    f = symarray.function([x, t], cost, updates=[(w, w - lr * gw), (b, b - lr * gb)],
                          mode=_mode(stream))
    return lambda: f(X, y)


def linear(X: np.ndarray, y: np.ndarray, stream: bool, link: str) -> Callable[[], Any]:  # noqa: N803
    """``w -= lr / n * X.T @ (link(X @ w) - y)`` (least squares, Poisson)."""
    x, t = T.dmatrix("x"), T.dvector("t")
    w = symarray.shared(np.zeros(X.shape[1]), name="w")
    z = T.dot(x, w)
    mu = T.exp(z) if link == "exp" else z
    g = T.dot(x.T, mu - t) / x.shape[0]
    f = symarray.function([x, t], [], updates=[(w, w - LR * g)], mode=_mode(stream))
    return lambda: f(X, y)


def numpy_logreg(X: np.ndarray, y: np.ndarray) -> Callable[[], Any]:  # noqa: N803
    st = [np.zeros(X.shape[1], dtype=X.dtype), X.dtype.type(0.0)]
    n = X.shape[0]

    def step() -> None:
        z = X @ st[0] + st[1]
        np.mean(np.logaddexp(0.0, z) - y * z)
        g = (_sigmoid(z) - y) / n
        st[0] = st[0] - LR * (X.T @ g)
        st[1] = st[1] - LR * g.sum()

    return step


def numpy_linear(X: np.ndarray, y: np.ndarray, link: str) -> Callable[[], Any]:  # noqa: N803
    st = [np.zeros(X.shape[1])]

    def step() -> None:
        z = X @ st[0]
        mu = np.exp(z) if link == "exp" else z
        st[0] = st[0] - LR * (X.T @ (mu - y)) / X.shape[0]

    return step


def measure(cases: dict[str, Callable[[], Any]], repeats: int, batch: float,
            settle: float) -> dict[str, list[float]]:
    """Round-robin batches of each case, each after ``settle`` seconds of
    sleep: NumPy's OpenBLAS threads spin for a while after a call, and would
    otherwise take the cores from the next case (and ours from NumPy)."""
    import timeit

    numbers = {}
    for name, fn in cases.items():
        for _ in range(3):
            fn()
        numbers[name] = calls_per_batch(timeit.Timer(fn), batch)
    times: dict[str, list[float]] = {name: [] for name in cases}
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in cases.items():
                time.sleep(settle)
                t0 = time.perf_counter()
                for _ in range(numbers[name]):
                    fn()
                times[name].append((time.perf_counter() - t0) / numbers[name])
    finally:
        gc.enable()
    return times


SETTLE = 0.3


def report(name: str, cases: dict[str, Callable[[], Any]], repeats: int,
           batch: float) -> None:
    times = measure(cases, repeats, batch, SETTLE)
    for label, stat in (("median", statistics.median), ("min", min)):
        ref = stat(times["numpy"])
        cells = [f"{case} {stat(ts) * 1e3:7.3f} ms [{stat(ts) / ref:4.2f}x]"
                 for case, ts in times.items()]
        print(f"{name:<14} {label:<6} " + "   ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--cols", type=int, default=784)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=float, default=0.2,
                        help="seconds per timing batch")
    parser.add_argument("--sweep", action="store_true",
                        help="also time the logistic step for several block sizes")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, k = args.rows, args.cols
    X = rng.standard_normal((n, k))
    y = ((X @ (rng.standard_normal(k) / np.sqrt(k))) > 0).astype(np.float64)
    counts = rng.poisson(1.0, n).astype(np.float64)
    X_small = X * (0.1 / np.sqrt(k))
    print(f"# X {n} x {k}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; ms per step, median of {args.repeats}")
    report("logreg_step", {"numpy": numpy_logreg(X, y),
                           "symarray": logreg(X, y, True),
                           "two-pass": logreg(X, y, False)}, args.repeats, args.batch)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    report("logreg_f32", {"numpy": numpy_logreg(X32, y32),
                          "symarray": logreg(X32, y32, True),
                          "two-pass": logreg(X32, y32, False)},
           args.repeats, args.batch)
    report("least_squares", {"numpy": numpy_linear(X, y, "id"),
                             "symarray": linear(X, y, True, "id"),
                             "two-pass": linear(X, y, False, "id")},
           args.repeats, args.batch)
    report("poisson", {"numpy": numpy_linear(X_small, counts, "exp"),
                       "symarray": linear(X_small, counts, True, "exp"),
                       "two-pass": linear(X_small, counts, False, "exp")},
           args.repeats, args.batch)
    if args.sweep:
        from symarray.kernels_c import _blas_stream

        old = _blas_stream.block_bytes()
        cases: dict[str, Callable[[], Any]] = {"numpy": numpy_logreg(X, y)}
        sizes = [1 << s for s in range(14, 21)]
        steps = {size: logreg(X, y, True) for size in sizes}

        def at(size: int) -> Callable[[], Any]:
            def run() -> None:
                _blas_stream.block_bytes(size)
                steps[size]()
            return run

        for size in sizes:
            cases[f"{size >> 10}K"] = at(size)
        try:
            report("block_bytes", cases, args.repeats, args.batch)
        finally:
            _blas_stream.block_bytes(old)


if __name__ == "__main__":
    main()
