#!/usr/bin/env python3
"""Run-time C codegen tier next to the precompiled interpreter and NumPy.

``exp(-x**2) * sin(x) + 0.5 * log(1 + abs(x))`` on 1e6 and 1e7 elements,
float64 and float32, measured side by side in one run:

* ``compile``: seconds of ``symarray.function`` (graph cache off, so each
  includes the rewrites): the interpreter (``c_codegen=off``), codegen
  *cold* (an empty kernel cache: generate, run the C compiler, load) and
  codegen *warm* (the kernel on disk, not yet loaded: what a new process
  pays);
* ``mixed``: ``exp(x) * i + (x > 0)`` with ``x`` float32 and ``i`` int32
  (a float64 result): a program of several dtypes, which the interpreter
  declines (its node runs ``perform``);
* ``multi``: ``z = x + y; exp(z), z * 2`` read separately (float64): one
  fused node with two outputs;
* ``run``: ms per call (median and minimum of ``--repeats`` timings, gc
  off, interleaved) for NumPy's eager expression, the interpreter and the
  generated kernel, with the ratios codegen / NumPy and codegen /
  interpreter (below 1: codegen is faster).

Usage::

    python benchmarks/codegen.py            # ~1 min
    python benchmarks/codegen.py --quick    # 1e6 only, fewer repeats
"""

from __future__ import annotations

import argparse
import datetime
import gc
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import symarray
import symarray.tensor as T  # noqa: N812
from symarray import config
from symarray.kernels_c.codegen import CACHE_STATS
from symarray.kernels_c.codegen.thunk import clear_loaded


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


HEADER = "".join(f"{h:>9}" for h in (
    "np med", "np min", "int med", "int min", "cg med", "cg min", "cg/np",
    "cg/int", "cg/np*", "cg/int*"))


def row(label: str, cases: dict[str, Callable[[], Any]], repeats: int) -> None:
    """Time NumPy, the interpreter and codegen interleaved; print one row
    (ratios of medians, then of minima, marked *)."""
    number = max(1, int(0.1 / max(timed(cases["np"], 1), 1e-9)))
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for k, fn in cases.items():
            times[k].append(timed(fn, number))
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}
    cells = [med["np"] * 1e3, low["np"] * 1e3, med["int"] * 1e3, low["int"] * 1e3,
             med["cg"] * 1e3, low["cg"] * 1e3, med["cg"] / med["np"],
             med["cg"] / med["int"], low["cg"] / low["np"], low["cg"] / low["int"]]
    print(f"{label:<16}" + "".join(f"{c:>9.2f}" for c in cells))


def build(dtype: str, codegen: str) -> tuple[Any, float]:
    """A compiled function of the expression and the seconds it took."""
    v = T.vector("v", dtype=dtype)
    out = T.exp(-v ** 2) * T.sin(v) + 0.5 * T.log(1 + abs(v))
    with config.change_flags(c_codegen=codegen, graph_cache=False):
        t0 = time.perf_counter()
        f = symarray.function([v], out, mode=symarray.Mode(linker="cvm",
                                                           optimizer="fast_run"))
        return f, time.perf_counter() - t0


def backend(f: Any) -> str:
    return ",".join(sorted({t.backend for t in f.vm.program.thunks
                            if hasattr(getattr(t.node.op, "scalar_op", None),
                                       "steps")}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    sizes = [10**6] if args.quick else [10**6, 10**7]
    print(f"# {datetime.date.today()} {platform.machine()} {platform.processor()} "
          f"numpy {np.__version__} symarray {symarray.__version__}")
    folder = tempfile.mkdtemp(prefix="symarray-bench-")
    config.base_compiledir = folder
    try:
        run(sizes, repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(sizes: list[int], repeats: int) -> None:
    print(f"{'compile (s)':<16} {'interp':>8} {'cg cold':>8} {'cg warm':>8}"
          f" {'cc time':>8}")
    w = T.dvector("w")  # warm-up: imports and first-compile costs
    symarray.function([w], T.exp(w) * 2.0 + w)
    funcs = {}
    for dtype in ("float64", "float32"):
        interp, t_interp = build(dtype, "off")
        clear_loaded()
        before = CACHE_STATS["compile_s"]
        cold, t_cold = build(dtype, "on")
        cc = CACHE_STATS["compile_s"] - before
        clear_loaded()
        warm, t_warm = build(dtype, "on")
        print(f"{dtype:<16} {t_interp:>8.3f} {t_cold:>8.3f} {t_warm:>8.3f} {cc:>8.3f}"
              f"   [{backend(interp)} / {backend(warm)}]")
        funcs[dtype] = (interp, warm)
    print(f"\n{'run (ms)':<16}{HEADER}")
    for dtype in ("float64", "float32"):
        interp, gen = funcs[dtype]
        for n in sizes:
            x = np.random.default_rng(0).uniform(-3, 3, n).astype(dtype)
            ref = expr_numpy(x)
            tol = 1e-5 if dtype == "float32" else 1e-12
            for f in (interp, gen):
                np.testing.assert_allclose(f(x), ref, rtol=tol, atol=tol)
            row(f"{dtype} {n:.0e}", {
                "np": lambda x=x: expr_numpy(x), "int": lambda f=interp, x=x: f(x),
                "cg": lambda f=gen, x=x: f(x)}, repeats)
    mixed(sizes, repeats)
    multi(sizes, repeats)
    print(f"\ncache stats: {CACHE_STATS}")


def mixed(sizes: list[int], repeats: int) -> None:
    x, i = T.fvector("x"), T.ivector("i")
    out = T.exp(x) * i + (x > 0)
    fs = {}
    for flag in ("off", "on"):
        with config.change_flags(c_codegen=flag):
            fs[flag] = symarray.function([x, i], out)
    print(f"\n{'mixed (ms)':<16}{HEADER}   [{backend(fs['off'])} / "
          f"{backend(fs['on'])}]")
    for n in sizes:
        rng = np.random.default_rng(1)
        xv = rng.uniform(-3, 3, n).astype("float32")
        iv = rng.integers(-5, 5, n).astype("int32")
        ref = np.exp(xv) * iv + (xv > 0)
        for f in fs.values():
            np.testing.assert_allclose(f(xv, iv), ref, rtol=1e-6, atol=1e-5)
        row(f"f32*i32 {n:.0e}", {
            "np": lambda xv=xv, iv=iv: np.exp(xv) * iv + (xv > 0),
            "int": lambda xv=xv, iv=iv: fs["off"](xv, iv),
            "cg": lambda xv=xv, iv=iv: fs["on"](xv, iv)}, repeats)


def multi(sizes: list[int], repeats: int) -> None:
    x, y = T.dvector("x"), T.dvector("y")
    z = x + y
    outs = [T.exp(z), z * 2]
    fs = {}
    for flag in ("off", "on"):
        with config.change_flags(c_codegen=flag):
            fs[flag] = symarray.function([x, y], outs)
    print(f"\n{'multi (ms)':<16}{HEADER}   [{backend(fs['off'])} / "
          f"{backend(fs['on'])}]")

    def eager(xv: np.ndarray, yv: np.ndarray) -> list[np.ndarray]:
        zv = xv + yv
        return [np.exp(zv), zv * 2]

    for n in sizes:
        rng = np.random.default_rng(2)
        xv, yv = rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)
        for f in fs.values():
            for got, ref in zip(f(xv, yv), eager(xv, yv), strict=True):
                np.testing.assert_allclose(got, ref, rtol=1e-12)
        row(f"2 outputs {n:.0e}", {
            "np": lambda xv=xv, yv=yv: eager(xv, yv),
            "int": lambda xv=xv, yv=yv: fs["off"](xv, yv),
            "cg": lambda xv=xv, yv=yv: fs["on"](xv, yv)}, repeats)


if __name__ == "__main__":
    main()
