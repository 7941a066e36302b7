#!/usr/bin/env python3
"""Indexing kernels: accumulating scatters and gathers next to NumPy.

Measured side by side in one run (compare ratios on a noisy machine), each
symarray case a compiled function (linker ``cvm``) on the same arrays:

* ``inc_rows_<dtype>``: ``inc_subtensor(x[i], y)``, 1e6 random row indices
  (repeats accumulate) into a 1e4 x 8 matrix, ``y`` of shape (1e6, 8);
  against ``np.add.at`` on a copy of ``x`` (the issue's target: at most
  0.5x) and, for float64, against per-column ``np.bincount`` with weights
  (the usual trick for fast accumulation);
* ``set_rows_f64``: ``set_subtensor(x[i], y)`` against ``x.copy(); x[i] = y``;
* ``gather_rows_f64`` / ``gather_cols_f64``: ``x[i]`` / ``x[:, i]`` against
  NumPy's fancy indexing and ``np.take``;
* ``inc_mask_f64``: ``inc_subtensor(x[m], 1.0)`` on 1e6 elements, ``m``
  a boolean input (half True), against ``np.add.at`` and ``out[m] += 1``;
* ``inc_small_f64``: the first case on a 10 x 3 matrix and 4 indices: the
  per call cost.

The columns are the median and minimum time of symarray, then of each
NumPy peer, and the ratio of medians symarray / peer (below 1: faster).
The backend that ran the indexing node is printed next to the case name.

Usage::

    python benchmarks/indexing.py            # ~30 s
    python benchmarks/indexing.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import datetime
import gc
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import symarray
import symarray.tensor as T  # noqa: N812

INDEX_OPS = ("Subtensor", "IncSubtensor")


def timed(fn: Callable[[], Any], number: int) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number
    finally:
        gc.enable()


def compare(name: str, ours: Callable[[], Any],
            peers: dict[str, Callable[[], Any]], repeats: int) -> None:
    """Time ``ours`` and each peer interleaved; print one line per peer."""
    fns = [ours, *peers.values()]
    for fn in fns:
        fn()
    number = max(1, int(0.05 / max(timed(ours, 1), 1e-9)))
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            times[k].append(timed(fn, number))
    unit, unit_name = (1e-3, "ms") if statistics.median(times[0]) > 1e-4 else (
        1e-6, "µs")
    ours_med = statistics.median(times[0])
    for (peer, _), t in zip(peers.items(), times[1:], strict=True):
        med = statistics.median(t)
        print(f"{name:<34} {ours_med / unit:>9.2f} {min(times[0]) / unit:>9.2f}  "
              f"{peer:<14} {med / unit:>9.2f} {min(t) / unit:>9.2f} "
              f"{ours_med / med:>7.3f}  {unit_name}")


def backend(f: Any) -> str:
    """The backends of the function's indexing nodes."""
    labels = {t.backend for t in f.vm.program.thunks
              if any(w in type(t.node.op).__name__ for w in INDEX_OPS)}
    return ",".join(sorted(labels)) or "?"


def function(inputs: list[Any], output: Any) -> Any:
    return symarray.function(inputs, output, mode=symarray.Mode(linker="cvm"))


def add_at(x: np.ndarray, idx: Any, y: Any) -> np.ndarray:
    out = x.copy()
    np.add.at(out, idx, y)
    return out


def bincount_rows(x: np.ndarray, idx: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    cols = [np.bincount(idx, weights=y[:, j], minlength=n) for j in range(x.shape[1])]
    return x + np.stack(cols, axis=1)


def put_rows(x: np.ndarray, idx: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[idx] = y
    return out


def inc_mask(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[m] += 1.0
    return out


def bench_scatter(rng: np.random.Generator, repeats: int) -> None:
    rows, m, width = 10**4, 10**6, 8
    idx = rng.integers(0, rows, m)
    for dtype in ("float64", "float32", "int64"):
        xv = (rng.standard_normal((rows, width)) * 10).astype(dtype)
        yv = (rng.standard_normal((m, width)) * 10).astype(dtype)
        x, y, i = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype), T.lvector("i")
        f = function([x, y, i], T.inc_subtensor(x[i], y))
        np.testing.assert_allclose(f(xv, yv, idx), add_at(xv, idx, yv), rtol=1e-4)
        peers = {"np.add.at": lambda xv=xv, yv=yv: add_at(xv, idx, yv)}
        if dtype == "float64":
            peers["np.bincount"] = lambda xv=xv, yv=yv: bincount_rows(xv, idx, yv)
        compare(f"inc_rows_{dtype} [{backend(f)}]",
                lambda f=f, xv=xv, yv=yv: f(xv, yv, idx), peers, repeats)
    xv, yv = rng.standard_normal((rows, width)), rng.standard_normal((m, width))
    x, y, i = T.dmatrix("x"), T.dmatrix("y"), T.lvector("i")
    f = function([x, y, i], T.set_subtensor(x[i], y))
    np.testing.assert_array_equal(f(xv, yv, idx), put_rows(xv, idx, yv))
    compare(f"set_rows_f64 [{backend(f)}]", lambda: f(xv, yv, idx),
            {"x[i] = y": lambda: put_rows(xv, idx, yv)}, repeats)
    big = rng.standard_normal(10**6)
    mask = big > 0
    v, m = T.dvector("v"), T.TensorType("bool", shape=(None,))("m")
    f = function([v, m], T.inc_subtensor(v[m], 1.0))
    np.testing.assert_array_equal(f(big, mask), inc_mask(big, mask))
    compare(f"inc_mask_f64 [{backend(f)}]", lambda: f(big, mask),
            {"out[m] += 1": lambda: inc_mask(big, mask),
             "np.add.at": lambda: add_at(big, mask, 1.0)}, repeats)
    xs, ys = rng.standard_normal((10, 3)), np.ones((4, 3))
    small = np.array([1, 2, 1, 9])
    f = function([x, y, i], T.inc_subtensor(x[i], y))
    compare(f"inc_small_f64 [{backend(f)}]", lambda: f(xs, ys, small),
            {"np.add.at": lambda: add_at(xs, small, ys)}, repeats)


def bench_gather(rng: np.random.Generator, repeats: int) -> None:
    rows, m, width = 10**4, 10**6, 8
    idx = rng.integers(0, rows, m)
    xv = rng.standard_normal((rows, width))
    x, i = T.dmatrix("x"), T.lvector("i")
    f = function([x, i], x[i])
    np.testing.assert_array_equal(f(xv, idx), xv[idx])
    compare(f"gather_rows_f64 [{backend(f)}]", lambda: f(xv, idx),
            {"x[i]": lambda: xv[idx], "np.take": lambda: np.take(xv, idx, axis=0)},
            repeats)
    xt = np.ascontiguousarray(xv.T)
    f = function([x, i], x[:, i])
    np.testing.assert_array_equal(f(xt, idx), xt[:, idx])
    compare(f"gather_cols_f64 [{backend(f)}]", lambda: f(xt, idx),
            {"x[:, i]": lambda: xt[:, idx],
             "np.take": lambda: np.take(xt, idx, axis=1)}, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    print(f"# {datetime.date.today()} {platform.machine()} {platform.processor()} "
          f"numpy {np.__version__} symarray {getattr(symarray, '__version__', '?')}")
    print(f"{'case':<34} {'sa med':>9} {'sa min':>9}  {'peer':<14} {'med':>9} "
          f"{'min':>9} {'ratio':>7}")
    rng = np.random.default_rng(0)
    bench_scatter(rng, repeats)
    bench_gather(rng, repeats)


if __name__ == "__main__":
    main()
