#!/usr/bin/env python3
"""Fused elementwise kernels: the Composite block interpreter next to NumPy.

Measured side by side in one run (compare ratios on a noisy machine):

* ``chain100``: 100 elementwise ops on a 10-vector
  (``[x * 1.0001, x + 0.5, sin(x), x - 0.25] x 25``, the anchors' chain),
  FAST_RUN (fused into one ``Elemwise(Composite)``) under ``cvm`` and
  ``cvm_nogc``, against NumPy's eager chain; per call, in µs.
* ``fused_<dtype>_<n>``: ``exp(-x**2) * sin(x) + 0.5 * log(1 + abs(x))``
  on ``n`` = 1e6 and 1e7 elements, float64 and float32, ``cvm`` against
  NumPy's eager expression; per call, in ms.

Each case is warmed up; ``--repeats`` timings (gc off, symarray and NumPy
interleaved) give the median and the minimum.  The backend that ran the
fused node is printed, so a declined kernel (``py``) is visible.

Usage::

    python benchmarks/fused_elemwise.py            # ~30 s
    python benchmarks/fused_elemwise.py --quick    # 1e6 only, fewer repeats
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
from chains import CHAIN100, apply_chain

import symarray
import symarray.tensor as T  # noqa: N812


def chain_graph(x: Any) -> Any:
    return apply_chain(x, CHAIN100, T.sin)


def chain_numpy(x: np.ndarray) -> np.ndarray:
    return apply_chain(x, CHAIN100, np.sin)


def expr_numpy(x: np.ndarray) -> np.ndarray:
    half = x.dtype.type(0.5)
    return np.exp(-x ** 2) * np.sin(x) + half * np.log(1 + np.abs(x))


def timed(fn: Callable[[], Any], number: int) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number
    finally:
        gc.enable()


def compare(name: str, ours: Callable[[], Any], numpy: Callable[[], Any],
            repeats: int, unit: float, unit_name: str) -> None:
    ours(), numpy()
    t = timed(ours, 1)
    number = max(1, int(0.05 / max(t, 1e-9)))
    a, b = [], []
    for _ in range(repeats):
        a.append(timed(ours, number))
        b.append(timed(numpy, number))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{name:<24} {ma / unit:>10.2f} {min(a) / unit:>10.2f} "
          f"{mb / unit:>10.2f} {min(b) / unit:>10.2f} {ma / mb:>7.2f}  {unit_name}")


def backends(f: Any) -> str:
    return ",".join(sorted({t.backend for t in f.vm.program.thunks
                            if hasattr(getattr(t.node.op, "scalar_op", None),
                                       "steps")}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    print(f"# {datetime.date.today()} {platform.machine()} {platform.processor()} "
          f"numpy {np.__version__} symarray {getattr(symarray, '__version__', '?')}")
    print(f"{'case':<24} {'sa med':>10} {'sa min':>10} {'np med':>10} {'np min':>10}"
          f" {'ratio':>7}")
    x = T.dvector("x")
    xv = np.linspace(-1, 1, 10)
    for linker in ("cvm", "cvm_nogc"):
        f = symarray.function([x], chain_graph(x),
                              mode=symarray.Mode(linker=linker, optimizer="fast_run"))
        np.testing.assert_allclose(f(xv), chain_numpy(xv), rtol=1e-12)
        compare(f"chain100 {linker} [{backends(f)}]", lambda f=f: f(xv),
                lambda: chain_numpy(xv), repeats, 1e-6, "µs")
    sizes = [10**6] if args.quick else [10**6, 10**7]
    for dtype in ("float64", "float32"):
        v = T.vector("v", dtype=dtype)
        out = T.exp(-v ** 2) * T.sin(v) + 0.5 * T.log(1 + abs(v))
        f = symarray.function([v], out, mode=symarray.Mode(linker="cvm",
                                                           optimizer="fast_run"))
        for n in sizes:
            vv = np.random.default_rng(0).uniform(-3, 3, n).astype(dtype)
            got = f(vv)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, expr_numpy(vv),
                                       rtol=1e-5 if dtype == "float32" else 1e-12,
                                       atol=1e-6)
            compare(f"fused_{dtype}_{n:.0e} [{backends(f)}]", lambda f=f, vv=vv: f(vv),
                    lambda vv=vv: expr_numpy(vv), repeats, 1e-3, "ms")


if __name__ == "__main__":
    main()
