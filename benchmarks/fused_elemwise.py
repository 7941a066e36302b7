#!/usr/bin/env python3
"""Fused elementwise kernels: the block interpreter next to its peers.

Measured side by side in one run (compare ratios on a noisy machine):

* ``chain100``: 100 elementwise ops on a 10-vector
  (``[x * 1.0001, x + 0.5, sin(x), x - 0.25] x 25``, the anchors' chain),
  FAST_RUN (fused into one ``Elemwise(Composite)``) under ``cvm`` and
  ``cvm_nogc``, against NumPy's eager chain; per call, in µs.
* ``fused <dtype> <n>``: ``exp(-x**2) * sin(x) + log1p(abs(x)) * 0.5`` (the
  anchors' fused_elemwise workload) on ``n`` = 1e4, 1e6 and 1e7 elements,
  float64 and float32: symarray with ``kernel_threads`` = 1 and = every
  core, NumPy's eager expression, and numexpr and JAX (``jit``, on the CPU)
  when they are importable (``~/.venvs/anchors/bin/python`` has both);
  per call, in ms, with each one's ratio to NumPy.

Each case is warmed up; ``--repeats`` batches (gc off, the frameworks
interleaved) give the median and the minimum.  The backend that ran the
fused node is printed, so a declined kernel (``py``) is visible.

Usage::

    python benchmarks/fused_elemwise.py            # ~1 min
    python benchmarks/fused_elemwise.py --quick    # fewer sizes and repeats
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from chains import CHAIN100, apply_chain

import symarray
import symarray.tensor as T  # noqa: N812

Timer = Callable[[], Any]


def chain_graph(x: Any) -> Any:
    return apply_chain(x, CHAIN100, T.sin)


def chain_numpy(x: np.ndarray) -> np.ndarray:
    return apply_chain(x, CHAIN100, np.sin)


def expr_numpy(x: np.ndarray) -> np.ndarray:
    half = x.dtype.type(0.5)
    return np.exp(-x ** 2) * np.sin(x) + np.log1p(np.abs(x)) * half


def timed(fn: Timer, number: int) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number
    finally:
        gc.enable()


def measure(cases: dict[str, Timer], repeats: int) -> dict[str, list[float]]:
    """Per case, ``repeats`` batch means (cases interleaved)."""
    numbers = {}
    for name, fn in cases.items():
        fn()
        numbers[name] = max(1, int(0.05 / max(timed(fn, 1), 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            times[name].append(timed(fn, numbers[name]))
    return times


def report(title: str, times: dict[str, list[float]], unit: float,
           unit_name: str) -> None:
    base = statistics.median(times["numpy"])
    cells = []
    for name, ts in times.items():
        med = statistics.median(ts)
        cells.append(f"{name} {med / unit:.3g}/{min(ts) / unit:.3g}"
                     f" [{med / base:.2f}x]")
    print(f"{title:<22} " + "  ".join(cells) + f"  ({unit_name}, median/min)")


def peers(dtype: str) -> dict[str, Callable[[np.ndarray], Timer]]:
    """numexpr and JAX versions of the expression, when importable."""
    out: dict[str, Callable[[np.ndarray], Timer]] = {}
    try:
        import numexpr

        def ne(x: np.ndarray) -> Timer:
            half = x.dtype.type(0.5)
            names = {"x": x, "half": half}
            return lambda: numexpr.evaluate(
                "exp(-x**2) * sin(x) + log1p(abs(x)) * half", local_dict=names)
        out["numexpr"] = ne
    except ImportError:
        pass
    try:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp

        if dtype == "float64":
            jax.config.update("jax_enable_x64", True)

        @jax.jit
        def jexpr(x: Any) -> Any:
            return jnp.exp(-x ** 2) * jnp.sin(x) + jnp.log1p(jnp.abs(x)) * 0.5

        def jx(x: np.ndarray) -> Timer:
            xj = jax.device_put(x)
            return lambda: jexpr(xj).block_until_ready()
        out["jax"] = jx
    except ImportError:
        pass
    return out


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
    cores = len(os.sched_getaffinity(0))
    print(f"# {datetime.date.today()} {platform.machine()} {platform.processor()} "
          f"{cores} cores, numpy {np.__version__}")
    x = T.dvector("x")
    xv = np.linspace(-1, 1, 10)
    chain = {"numpy": lambda: chain_numpy(xv)}
    for linker in ("cvm", "cvm_nogc"):
        f = symarray.function([x], chain_graph(x),
                              mode=symarray.Mode(linker=linker, optimizer="fast_run"))
        np.testing.assert_allclose(f(xv), chain_numpy(xv), rtol=1e-12)
        chain[f"{linker}[{backends(f)}]"] = lambda f=f: f(xv)
    report("chain100", measure(chain, repeats), 1e-6, "µs")
    sizes = [10**4, 10**6] if args.quick else [10**4, 10**6, 10**7]
    for dtype in ("float64", "float32"):
        v = T.vector("v", dtype=dtype)
        out = T.exp(-v ** 2) * T.sin(v) + T.log1p(abs(v)) * 0.5
        funcs = {}
        for threads in sorted({1, cores}):
            with symarray.config.change_flags(kernel_threads=threads):
                funcs[threads] = symarray.function([v], out)
        others = peers(dtype)
        for n in sizes:
            vv = (np.random.default_rng(0).standard_normal(n) * 2).astype(dtype)
            cases: dict[str, Timer] = {"numpy": lambda vv=vv: expr_numpy(vv)}
            for threads, f in funcs.items():
                got = f(vv)
                assert got.dtype == dtype
                np.testing.assert_allclose(got, expr_numpy(vv),
                                           rtol=2e-5 if dtype == "float32" else 1e-12,
                                           atol=1e-6)
                cases[f"sa{threads}t[{backends(f)}]"] = lambda f=f, vv=vv: f(vv)
            for name, make in others.items():
                cases[name] = make(vv)
            report(f"fused {dtype} {n:.0e}", measure(cases, repeats), 1e-3, "ms")


if __name__ == "__main__":
    main()
